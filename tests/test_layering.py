"""The layout's rules that import-linter cannot see: who may talk to DynamoDB, who keeps state,
what a Lambda asset may carry, how long a handler may grow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = [p for d in ("functions", "web") for p in sorted((ROOT / d).rglob("*.py"))]
STORES = {"store.py", "dedup_store.py"}
HANDLER_MAX_LINES = 140  # "about 120": parse, one call, render, plus the routing table


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _dynamodb_clients(tree: ast.Module) -> list[int]:
    """Lines that obtain a DynamoDB client or a Powertools persistence layer on a table."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0] if node.args else None
        dynamodb_arg = isinstance(first, ast.Constant) and first.value == "dynamodb"
        if (
            name == "dynamodb"
            or (name == "client" and dynamodb_arg)
            or name == "DynamoDBPersistenceLayer"
        ):
            lines.append(node.lineno)
    return lines


def test_only_stores_talk_to_dynamodb() -> None:
    """Each table has one store in its domain; nothing else gets a DynamoDB client."""
    outside = {
        str(path.relative_to(ROOT)): lines
        for path in PRODUCT
        if path.name not in STORES
        and path not in (ROOT / "functions/platform/aws.py", ROOT / "functions/platform/dynamo.py")
        for lines in [_dynamodb_clients(_tree(path))]
        if lines
    }
    assert outside == {}, f"DynamoDB used outside a store: {outside}"


def test_the_check_finds_dynamodb_where_it_is() -> None:
    tree = ast.parse("from functions.platform import aws\nx = aws.dynamodb().scan(TableName='t')")
    assert _dynamodb_clients(tree) == [2]
    assert _dynamodb_clients(ast.parse("import boto3\nboto3.client('dynamodb')")) == [2]


def _module_state(tree: ast.Module) -> list[str]:
    """``global`` statements and functools caches: state the process registry cannot reset."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append(f"global {', '.join(node.names)} (line {node.lineno})")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                name = (
                    target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                )
                if name in ("cache", "lru_cache"):
                    found.append(f"@{name} on {node.name} (line {node.lineno})")
    return found


def test_process_state_is_built_by_the_registry() -> None:
    """What a warm Lambda keeps is built with ``process.once`` so one ``process.reset()``
    forgets it all (a cache that only a pure function of its argument keeps is fine)."""
    allowed = {("web/render.py", "")}
    found = {
        f"{path.relative_to(ROOT)}: {item}"
        for path in PRODUCT
        for item in _module_state(_tree(path))
        if not any(str(path.relative_to(ROOT)) == f and (not fn or fn in item) for f, fn in allowed)
    }
    assert found == set()


@pytest.mark.parametrize(
    "handler", sorted(ROOT.glob("functions/*/handler.py")), ids=lambda p: p.parent.name
)
def test_handlers_stay_thin(handler: Path) -> None:
    """Parse, one call into a service, render: logic lives in the domains."""
    lines = len(handler.read_text(encoding="utf-8").splitlines())
    assert lines <= HANDLER_MAX_LINES, f"{handler.parent.name}/handler.py has {lines} lines"


def test_no_lambda_asset_carries_local_code() -> None:
    """The local bus's fakes (recording Twilio client, moto glue) never ship to AWS."""
    from functions.topology import FUNCTIONS
    from infra.cdk.assets import first_party_files

    for fn in FUNCTIONS:
        module = fn.handler.rpartition(".")[0]
        files = {str(p.relative_to(ROOT)) for p in first_party_files(module)}
        assert not [f for f in files if f.startswith(("citizenbus/", "tests/"))], fn.name

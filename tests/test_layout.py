"""The suite's own layout: a test imports its helpers from ``tests/support`` and nowhere else in
``tests/``, never from another test module or a ``conftest.py`` (which keep only fixtures and
hooks)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(TESTS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the code of ``module``) imports, anywhere in it, relative
    imports resolved; ``from a import b`` imports ``a`` and ``a.b`` (b may be a module)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def forbidden(module: str) -> bool:
    """Anything in ``tests`` but ``tests.support``: a test module, a conftest, a stray helper."""
    parts = module.split(".")
    return parts[0] == "tests" and len(parts) > 1 and parts[1] != "support"


def test_no_test_imports_another_test() -> None:
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 40 and TESTS / "conftest.py" in files
    wrong = []
    for path in files:
        found = imports(path.read_text(), module_name(path), path.name == "__init__.py")
        bad = {name for name in found if forbidden(name)}
        # (tests.conftest, not also tests.conftest.auth)
        bad = {name for name in bad if name.rpartition(".")[0] not in bad}
        wrong += [f"{path.relative_to(TESTS.parent)} imports {name}" for name in sorted(bad)]
    assert not wrong, "import helpers from tests.support only:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("source", "module", "caught"),
    [
        ("from tests.conftest import auth", "tests.test_x", "tests.conftest"),
        ("from tests.test_voice import Call", "tests.test_x", "tests.test_voice"),
        ("import tests.test_voice", "tests.reliability.test_x", "tests.test_voice"),
        ("from tests import conftest", "tests.test_x", "tests.conftest"),
        ("from tests.security import test_access", "tests.test_x", "tests.security.test_access"),
        ("from tests.infra.conftest import Template", "tests.infra.test_x", "tests.infra.conftest"),
        ("def f():\n    from .test_sms import sms", "tests.test_x", "tests.test_sms"),
        ("from ..conftest import auth", "tests.e2e.test_x", "tests.conftest"),
        ("from . import strategies", "tests.security.test_x", "tests.security.strategies"),
    ],
)
def test_the_layout_check_sees_every_way_of_importing(
    source: str, module: str, caught: str
) -> None:
    found = imports(source, module)
    assert caught in found and forbidden(caught)


def test_the_support_package_may_be_imported() -> None:
    found = imports("from tests.support.bus import load_event\nimport tests.support", "tests.x")
    assert found and not any(forbidden(name) for name in found)

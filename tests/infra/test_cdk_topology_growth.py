"""The CDK app follows the topology: functions, routes, queues, tables and schedules that other
channels register appear in the template, secured, with no CDK change.

Synthesizes (dev and prod) with a topology that has the shapes the SMS/voice, agency, open-data
and notification work registers: Twilio routes, agency routes behind a Lambda authorizer,
per-agency delivery queues, schedules, extra tables and permissions.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions import topology
from functions.topology import Function, Route, Table
from infra.cdk import assets
from infra.cdk.app import Synth, synth
from infra.cdk.constants import ENVIRONMENTS, REPO_ROOT, RESERVED_CONCURRENCY
from schemas.catalog import load_catalog
from tests.support.cdk import Template

_EXTRA_TABLES = (
    Table("citizens", key="citizen", sort_key="channel"),
    Table("subscriptions", key="agency"),
    Table("audit", key="agency", sort_key="at", ttl="expires_at"),
)
_EXTRA_FUNCTIONS = (
    Function(
        "sms",
        "functions.sms.handler.lambda_handler",
        routes=(Route("POST", "/channels/sms"), Route("POST", "/channels/sms/status")),
        uses_twilio=True,
        tables=("requests", "outbox", "idempotency", "citizens"),
    ),
    Function(
        "voice",
        "functions.voice.handler.lambda_handler",
        routes=(Route("POST", "/channels/voice"), Route("POST", "/channels/voice/{step}")),
        uses_twilio=True,
        tables=("requests", "outbox", "idempotency"),
    ),
    Function("agency_authorizer", "functions.agency_authorizer.handler.lambda_handler"),
    Function(
        "agency_api",
        "functions.agency_api.handler.lambda_handler",
        routes=(
            Route("GET", "/agency/v1/requests/{reference}", "agency"),
            Route("POST", "/agency/v1/requests/{reference}/status", "agency"),
            Route("PUT", "/agency/v1/subscriptions", "agency"),
        ),
        tables=("requests", "outbox", "subscriptions", "audit"),
        permissions=("sqs:send:citizenbus-delivery-{agency}",),
    ),
    Function(
        "webhook_delivery",
        "functions.webhook_delivery.handler.lambda_handler",
        queues=("citizenbus-delivery-{agency}",),
        tables=("subscriptions",),
    ),
    Function("redrive", "functions.redrive.handler.lambda_handler", permissions=("sqs:redrive",)),
    Function(
        "open311",
        "functions.open311.handler.lambda_handler",
        routes=(Route("GET", "/open311/v2/{proxy+}"), Route("POST", "/open311/v2/requests.json")),
        tables=("requests", "outbox", "idempotency"),
        permissions=("secret:open311-keys",),
    ),
    Function(
        "open_data",
        "functions.open_data.handler.lambda_handler",
        schedule_minutes=60,
        tables=("requests",),
        permissions=("s3:open-data",),
    ),
    Function(
        "notifier",
        "functions.notifier.handler.lambda_handler",
        queues=("citizenbus-notifications",),
        permissions=("ses:send", "sns:publish"),
        uses_twilio=True,
    ),
)
# Whatever the real topology already registers (once those branches land) is kept as it is.
_HAVE_TABLES = {t.name for t in topology.TABLES}
_HAVE_FUNCTIONS = {f.name for f in topology.FUNCTIONS}
GROWN_TABLES = (*topology.TABLES, *(t for t in _EXTRA_TABLES if t.name not in _HAVE_TABLES))
GROWN_FUNCTIONS = (
    *topology.FUNCTIONS,
    *(f for f in _EXTRA_FUNCTIONS if f.name not in _HAVE_FUNCTIONS),
)
NEW = [f for f in GROWN_FUNCTIONS if f.name not in _HAVE_FUNCTIONS]


def _fake_repo(root: Path) -> Path:
    """The repo's functions and schemas plus a handler folder per new function."""
    for folder in ("functions", "schemas"):
        shutil.copytree(
            REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    for fn in NEW:
        (root / "functions" / fn.name).mkdir(exist_ok=True)
        (root / "functions" / fn.name / "handler.py").write_text(
            "def lambda_handler(event, context): ...\n"
        )
    return root


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Synth, dict[str, Template]]]:
    root = _fake_repo(tmp_path_factory.mktemp("repo"))
    build = tmp_path_factory.mktemp("build")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(topology, "FUNCTIONS", GROWN_FUNCTIONS)
        mp.setattr(topology, "TABLES", GROWN_TABLES)
        mp.setattr(
            assets,
            "build_function",
            functools.partial(assets.build_function, root=root, build_dir=build),
        )
        result = synth(("dev", "prod"), tmp_path_factory.mktemp("cdk-grown"), stage_assets=False)
        yield result, {env: Template(result.template(env)) for env in ("dev", "prod")}


def test_grown_topology_synthesizes_with_no_cdk_nag_error(grown):
    result, _ = grown
    assert result.errors == []


def test_agency_routes_sit_behind_the_agency_authorizer_function(grown):
    _, templates = grown
    t = templates["prod"]
    authorizer_fn, _ = t.function_of("agency_authorizer")
    authorizers = t.of_type("AWS::ApiGatewayV2::Authorizer")
    agency_routes = [
        r
        for r in t.of_type("AWS::ApiGatewayV2::Route").values()
        if r["RouteKey"].split(" ")[1].startswith("/agency/")
    ]
    assert len(agency_routes) == 3
    for route in agency_routes:
        assert route["AuthorizationType"] == "CUSTOM"
        authorizer = authorizers[route["AuthorizerId"]["Ref"]]
        assert authorizer_fn in json.dumps(authorizer["AuthorizerUri"])
        assert authorizer["EnableSimpleResponses"] is True
    invokers = [
        p
        for p in t.of_type("AWS::Lambda::Permission").values()
        if p["Principal"] == "apigateway.amazonaws.com"
        and p["FunctionName"] == {"Fn::GetAtt": [authorizer_fn, "Arn"]}
    ]
    assert invokers
    _, props = t.function_of("agency_authorizer")
    env = props["Environment"]["Variables"]
    assert "AGENCY_KEYS_SECRET_ARN" in env  # read at run time; the keys are not in its env
    assert "CITIZENBUS_AGENCY_KEYS" not in env


def test_per_agency_delivery_queues_feed_their_consumer_with_dlqs(grown):
    _, templates = grown
    t = templates["prod"]
    consumer, _ = t.function_of("webhook_delivery")
    mappings = [
        m
        for m in t.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["FunctionName"] == {"Ref": consumer}
    ]
    fed_by = sorted(t.queue_name(m["EventSourceArn"]) for m in mappings)
    assert fed_by == sorted(f"citizenbus-delivery-{a}" for a in load_catalog().agency_ids())
    queues = {p["QueueName"]: p for p in t.of_type("AWS::SQS::Queue").values()}
    for name in fed_by:
        assert t.queue_name(queues[name]["RedrivePolicy"]["deadLetterTargetArn"]) == f"{name}-dlq"
    for m in mappings:
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # each agency's rule fills its delivery queue too (as the local bus does)
    agencies = set(load_catalog().agency_ids())
    for rule in t.of_type("AWS::Events::Rule").values():
        agency = rule["Name"].removeprefix("citizenbus-to-")
        if agency not in agencies:
            continue  # a subscriber's rule (the notifier), tested in test_cdk.py
        filled = {t.queue_name(target["Arn"]) for target in rule["Targets"]}
        assert filled == {f"citizenbus-agency-{agency}", f"citizenbus-delivery-{agency}"}
        assert queues[f"citizenbus-delivery-{agency}"]["RedrivePolicy"]["maxReceiveCount"] == 8


def test_twilio_functions_get_the_twilio_layer_token_and_public_url(grown):
    _, templates = grown
    t = templates["prod"]
    twilio_layer = next(
        k
        for k, p in t.of_type("AWS::Lambda::LayerVersion").items()
        if "twilio and" in p["Description"]
    )
    for fn in GROWN_FUNCTIONS:
        _, props = t.function_of(fn.name)
        env = props["Environment"]["Variables"]
        assert ({"Ref": twilio_layer} in props["Layers"]) == fn.uses_twilio, fn.name
        assert ("TWILIO_AUTH_TOKEN" in env) == fn.uses_twilio, fn.name
        assert ("CITIZENBUS_PUBLIC_URL" in env) == fn.uses_twilio, fn.name


def test_scheduled_functions_run_on_eventbridge_scheduler(grown):
    _, templates = grown
    t = templates["prod"]
    schedules = t.of_type("AWS::Scheduler::Schedule")
    scheduled = [fn for fn in GROWN_FUNCTIONS if fn.schedule_minutes]
    assert len(schedules) == len(scheduled)
    for fn in scheduled:
        assert fn.schedule_minutes is not None
        target, _ = t.function_of(fn.name)
        (schedule,) = (
            s for s in schedules.values() if s["Target"]["Arn"] == {"Fn::GetAtt": [target, "Arn"]}
        )
        assert schedule["ScheduleExpression"] in {
            f"rate({fn.schedule_minutes} minutes)",
            f"rate({fn.schedule_minutes // 60} hour)",
            f"rate({fn.schedule_minutes // 60} hours)",
        }
        assert t.queue_name(schedule["Target"]["DeadLetterConfig"]["Arn"]).endswith("-dlq")


def test_new_tables_and_permissions_are_scoped(grown):
    _, templates = grown
    t = templates["prod"]
    tables = {p["TableName"]: p for p in t.of_type("AWS::DynamoDB::Table").values()}
    citizens = tables["citizenbus-citizens"]
    spec = next(table for table in GROWN_TABLES if table.name == "citizens")
    assert {k["KeyType"]: k["AttributeName"] for k in citizens["KeySchema"]} == {
        "HASH": spec.key,
        "RANGE": spec.sort_key,
    }
    assert citizens["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    statements = {
        logical: p["PolicyDocument"]["Statement"]
        for logical, p in t.of_type("AWS::IAM::Policy").items()
    }
    text = json.dumps(statements)
    assert "sqs:StartMessageMoveTask" in text
    assert "ses:SendEmail" in text and ":identity/" in text
    for actions_resources in statements.values():
        for statement in actions_resources:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            if any(a.startswith("s3:") for a in actions):
                assert "OpenDataBucket" in json.dumps(statement["Resource"])
    _, props = t.function_of("open_data")
    assert "OPEN_DATA_BUCKET" in props["Environment"]["Variables"]


def test_environments_get_their_names_and_reserved_concurrency(grown):
    _, templates = grown
    for env, t in templates.items():
        settings = ENVIRONMENTS[env]
        names = {p["QueueName"] for p in t.of_type("AWS::SQS::Queue").values()}
        assert settings.physical("citizenbus-delivery-tax") in names
        _, props = t.function_of("webhook_delivery")
        reserved = props.get("ReservedConcurrentExecutions")
        assert reserved == (
            RESERVED_CONCURRENCY["webhook_delivery"] if settings.reserved_concurrency else None
        )
    assert "citizenbus-dev-delivery-tax" in {
        p["QueueName"] for p in templates["dev"].of_type("AWS::SQS::Queue").values()
    }


def test_an_agency_route_without_the_authorizer_function_fails_the_synth(tmp_path, monkeypatch):
    functions = tuple(f for f in GROWN_FUNCTIONS if f.name != "agency_authorizer")
    root = _fake_repo(tmp_path / "repo")
    monkeypatch.setattr(topology, "FUNCTIONS", functions)
    monkeypatch.setattr(topology, "TABLES", GROWN_TABLES)
    monkeypatch.setattr(
        assets,
        "build_function",
        functools.partial(assets.build_function, root=root, build_dir=tmp_path / "b"),
    )
    with pytest.raises(ValueError, match="agency_authorizer"):
        synth(("dev",), tmp_path / "out")


def test_an_unknown_permission_fails_the_synth(tmp_path, monkeypatch):
    functions = (
        *topology.FUNCTIONS,
        Function("health2", "functions.health.handler.lambda_handler", permissions=("s3:*",)),
    )
    monkeypatch.setattr(topology, "FUNCTIONS", functions)
    with pytest.raises(ValueError, match="unknown permissions"):
        synth(("dev",), tmp_path / "out")

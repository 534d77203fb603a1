"""The CDK app follows the topology: functions, routes, queues, tables and schedules that other
channels register appear in the template, secured, with no CDK change.

Synthesizes (dev and prod) the real functions/topology.py grown by one table and one function
that has every shape a new channel can register: a JWT route and an agency route (behind the
Lambda authorizer), a per-agency queue it consumes, a schedule, Twilio, a bucket, permissions
(an e-mail grant, a send to the notifier's and to the per-agency delivery queues) and reserved
concurrency. Everything else is the real registry, so this test cannot drift from it.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions import topology
from functions.domain.agencies.routing import agency_queue, function_queue
from functions.topology import Function, Route, Table
from infra.cdk import assets
from infra.cdk.app import Synth, synth
from infra.cdk.constants import ENVIRONMENTS, REPO_ROOT
from infra.cdk.functions_construct import PERMISSIONS, effective_permissions
from schemas.catalog import load_catalog
from tests.support.cdk import Template

NEW_TABLE = Table("permits", key="permit", sort_key="entry", ttl="expires_at")
NEW_FUNCTION = Function(
    "permits",
    "functions.permits.handler.lambda_handler",
    routes=(
        Route("GET", "/app/v1/permits/{permit}", "jwt"),
        Route("POST", "/agency/v1/permits/{permit}/status", "agency"),
    ),
    queues=("citizenbus-permits-{agency}",),
    schedule_minutes=30,
    uses_twilio=True,
    tables=("permits", "requests"),
    buckets=("open-data",),
    permissions=(
        "ses:send",
        "sqs:send:citizenbus-notifier",
        "sqs:send:citizenbus-delivery-{agency}",
    ),
    reserved_concurrency=5,
)
assert NEW_TABLE.name not in {t.name for t in topology.TABLES}
assert NEW_FUNCTION.name not in {f.name for f in topology.FUNCTIONS}
GROWN_TABLES = (*topology.TABLES, NEW_TABLE)
GROWN_FUNCTIONS = (*topology.FUNCTIONS, NEW_FUNCTION)
NEW = [NEW_FUNCTION]


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
    expected = [r for fn in GROWN_FUNCTIONS for r in fn.routes if r.auth == "agency"]
    assert len(agency_routes) == len(expected) == 4  # the real three and the new one
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


@pytest.mark.parametrize("consumer", ["webhook_delivery", NEW_FUNCTION.name])
def test_per_agency_queues_feed_their_consumer_with_dlqs(grown, consumer):
    _, templates = grown
    t = templates["prod"]
    logical, _ = t.function_of(consumer)
    mappings = [
        m
        for m in t.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["FunctionName"] == {"Ref": logical}
    ]
    (template,) = (q for fn in GROWN_FUNCTIONS if fn.name == consumer for q in fn.queues)
    fed_by = sorted(t.queue_name(m["EventSourceArn"]) for m in mappings)
    assert fed_by == sorted(template.format(agency=a) for a in load_catalog().agency_ids())
    queues = {p["QueueName"]: p for p in t.of_type("AWS::SQS::Queue").values()}
    for name in fed_by:
        assert t.queue_name(queues[name]["RedrivePolicy"]["deadLetterTargetArn"]) == f"{name}-dlq"
    for m in mappings:
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # each agency's rule fills its delivery queue and the new per-agency queue too (as the
    # local bus does)
    agencies = set(load_catalog().agency_ids())
    for rule in t.of_type("AWS::Events::Rule").values():
        agency = rule["Name"].removeprefix("citizenbus-to-")
        if agency not in agencies:
            continue  # a subscriber's rule (the notifier), tested in test_cdk.py
        filled = {t.queue_name(target["Arn"]) for target in rule["Targets"]}
        assert filled == {
            agency_queue(agency),
            f"citizenbus-delivery-{agency}",
            f"citizenbus-permits-{agency}",
        }
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
        assert ("TWILIO_AUTH_TOKEN_SECRET_ARN" in env) == fn.uses_twilio, fn.name
        assert "TWILIO_AUTH_TOKEN" not in env, fn.name
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
    for name in ("citizens", NEW_TABLE.name):
        table = tables[f"citizenbus-{name}"]
        spec = next(table for table in GROWN_TABLES if table.name == name)
        assert {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]} == {
            "HASH": spec.key,
            "RANGE": spec.sort_key,
        }
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
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
    for name in ("open_data", NEW_FUNCTION.name):
        _, props = t.function_of(name)
        assert "OPEN_DATA_BUCKET" in props["Environment"]["Variables"]
    # the new function sends to the notifier's queue (found by NOTIFIER_QUEUE_URL) and to every
    # agency's delivery queue, and to no other queue
    _, props = t.function_of(NEW_FUNCTION.name)
    assert "NOTIFIER_QUEUE_URL" in props["Environment"]["Variables"]
    (policy,) = (
        p
        for p in t.of_type("AWS::IAM::Policy").values()
        if p["Roles"] == [{"Ref": props["Role"]["Fn::GetAtt"][0]}]
    )
    sent_to = {
        t.queue_name(statement["Resource"])
        for statement in policy["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in statement["Action"]
    }
    assert sent_to == {function_queue("notifier")} | {
        f"citizenbus-delivery-{a}" for a in load_catalog().agency_ids()
    }


def test_environments_get_their_names_and_reserved_concurrency(grown):
    _, templates = grown
    assert topology.function("webhook_delivery").reserved_concurrency
    for env, t in templates.items():
        settings = ENVIRONMENTS[env]
        names = {p["QueueName"] for p in t.of_type("AWS::SQS::Queue").values()}
        assert settings.physical("citizenbus-delivery-tax") in names
        for fn in GROWN_FUNCTIONS:  # the topology entry's setting, where the env reserves
            _, props = t.function_of(fn.name)
            reserved = props.get("ReservedConcurrentExecutions")
            assert reserved == (
                fn.reserved_concurrency if settings.reserved_concurrency else None
            ), (env, fn.name)
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
    with pytest.raises(ValueError, match="unknown permission 's3:\\*'"):
        synth(("dev",), tmp_path / "out")


def test_every_permission_the_app_can_grant_is_granted_in_the_grown_synth(grown):
    """No name in the vocabulary without a function that exercises its grant code."""
    used = {p for fn in GROWN_FUNCTIONS for p in effective_permissions(fn)}
    assert set(PERMISSIONS) <= used

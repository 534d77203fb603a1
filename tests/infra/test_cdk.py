"""The synthesized production template: routes, authorizers, rules, queues, IAM, encryption."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from moto.events.models import EventPattern  # EventBridge's matching as moto emulates it

from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import (
    agency_dlq,
    agency_pattern,
    agency_queue,
    agency_rule_name,
    function_queue,
    subscription_pattern,
)
from functions.topology import FUNCTIONS, TABLES, THROTTLES
from infra.cdk import assets
from infra.cdk.bus_construct import agency_target_queues
from infra.cdk.constants import ENVIRONMENTS
from infra.cdk.functions_construct import effective_permissions
from schemas.catalog import load_catalog
from schemas.events import BUS_SOURCE, EVENT_TYPES

PROD = ENVIRONMENTS["prod"]


def test_cdk_nag_reports_no_unsuppressed_errors(prod):
    result, _ = prod
    assert result.errors == []


def test_every_topology_route_is_served_with_its_authorizer(prod):
    _, t = prod
    routes = {p["RouteKey"]: p for p in t.of_type("AWS::ApiGatewayV2::Route").values()}
    authorizers = t.of_type("AWS::ApiGatewayV2::Authorizer")
    expected = {
        f"{r.method} {r.path}": r.auth
        for fn in FUNCTIONS
        for r in fn.routes
        if r.path == "/" or not r.path.endswith("/")  # HTTP API paths cannot end with "/"
    }
    assert set(routes) == set(expected)
    for key, auth in expected.items():
        route = routes[key]
        if auth == "none":
            assert route.get("AuthorizationType", "NONE") == "NONE", key
            continue
        authorizer = authorizers[route["AuthorizerId"]["Ref"]]
        if auth == "jwt":
            assert route["AuthorizationType"] == "JWT", key
            assert authorizer["AuthorizerType"] == "JWT"
            assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
        else:
            assert route["AuthorizationType"] == "CUSTOM", key
            assert authorizer["AuthorizerType"] == "REQUEST"


def test_every_route_reaches_the_function_the_topology_names(prod):
    _, t = prod
    integrations = t.of_type("AWS::ApiGatewayV2::Integration")
    # a SnapStart function's routes reach it through its alias (test_cdk_snapstart)
    alias_of = {k: a["FunctionName"]["Ref"] for k, a in t.of_type("AWS::Lambda::Alias").items()}
    for route in t.of_type("AWS::ApiGatewayV2::Route").values():
        integration = integrations[route["Target"]["Fn::Join"][1][1]["Ref"]]
        uri = integration["IntegrationUri"]
        fn_logical = uri["Fn::GetAtt"][0] if "Fn::GetAtt" in uri else alias_of[uri["Ref"]]
        owner = next(
            fn.name
            for fn in FUNCTIONS
            for r in fn.routes
            if f"{r.method} {r.path}" == route["RouteKey"]
        )
        assert t.function_of(owner)[0] == fn_logical


def test_the_stage_throttles_and_logs_without_personal_data(prod):
    _, t = prod
    (stage,) = t.of_type("AWS::ApiGatewayV2::Stage").values()
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == PROD.throttle_rate
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == PROD.throttle_burst
    log_format = stage["AccessLogSettings"]["Format"]
    assert "$context.requestId" in log_format
    for personal in ("identity.sourceIp", "requestBody", "header", "querystring"):
        assert personal not in log_format


def test_one_rule_per_catalog_agency_with_routing_pattern_queue_and_dlq(prod):
    _, t = prod
    catalog = load_catalog()
    rules = {p["Name"]: p for p in t.of_type("AWS::Events::Rule").values()}
    (bus_id,) = t.of_type("AWS::Events::EventBus")
    for agency in catalog.agency_ids():
        rule = rules[PROD.physical(agency_rule_name(agency))]
        assert json.loads(json.dumps(rule["EventPattern"])) == agency_pattern(catalog, agency)
        assert rule["EventBusName"] == {"Ref": bus_id}
        targets = {
            (t.queue_name(target["Arn"]), t.queue_name(target["DeadLetterConfig"]["Arn"]))
            for target in rule["Targets"]
        }
        assert (PROD.physical(agency_queue(agency)), PROD.physical(agency_dlq(agency))) in targets
        assert targets == {
            (PROD.physical(q), PROD.physical(f"{q}-dlq")) for q in agency_target_queues(agency)
        }
        assert all(target["RetryPolicy"]["MaximumRetryAttempts"] > 0 for target in rule["Targets"])
    subscribers = [fn for fn in FUNCTIONS if fn.subscribes]
    for fn in subscribers:  # the notifier's own rule: its event types into its queue
        rule = rules[PROD.physical(f"citizenbus-to-{fn.name.replace('_', '-')}")]
        assert json.loads(json.dumps(rule["EventPattern"])) == subscription_pattern(fn.subscribes)
        [target] = rule["Targets"]
        assert t.queue_name(target["Arn"]) == PROD.physical(function_queue(fn.name))
    assert len(rules) == len(catalog.agency_ids()) + len(subscribers)


def test_the_bus_is_archived(prod):
    _, t = prod
    (archive,) = t.of_type("AWS::Events::Archive").values()
    assert archive["RetentionDays"] == PROD.archive_days


def test_local_bus_and_cdk_route_every_catalog_service_the_same(prod: Any, bus: LocalBus) -> None:
    """Same rule names, patterns, target queues and DLQs (read back from the local bus's moto
    EventBridge); and each service's events reach the same queues in both."""
    _, t = prod
    catalog = load_catalog()
    events = boto3.client("events")
    cdk_rules = {p["Name"]: p for p in t.of_type("AWS::Events::Rule").values()}
    Route = tuple[dict[str, Any], frozenset[tuple[str, str]]]  # pattern, (queue, dlq) targets

    def local_route(agency: str) -> Route:
        name = agency_rule_name(agency)
        rule = events.describe_rule(Name=name, EventBusName="citizenbus")
        targets = events.list_targets_by_rule(Rule=name, EventBusName="citizenbus")["Targets"]
        return json.loads(rule["EventPattern"]), frozenset(
            (x["Arn"].rsplit(":", 1)[1], x["DeadLetterConfig"]["Arn"].rsplit(":", 1)[1])
            for x in targets
        )

    def cdk_route(agency: str) -> Route:
        rule = cdk_rules[PROD.physical(agency_rule_name(agency))]
        return rule["EventPattern"], frozenset(
            (t.queue_name(x["Arn"]), t.queue_name(x["DeadLetterConfig"]["Arn"]))
            for x in rule["Targets"]
        )

    for agency in catalog.agency_ids():
        assert local_route(agency) == cdk_route(agency)

    for service in catalog.services:
        for event_type in EVENT_TYPES:
            event = {
                "id": "1",
                "account": "123456789012",
                "region": "eu-north-1",
                "time": "2026-01-01T00:00:00Z",
                "resources": [],
                "source": BUS_SOURCE,
                "detail-type": event_type,
                "detail": {
                    "data": {"agency": service.agency, "service_code": service.service_code}
                },
            }

            def matched(route: Callable[[str], Route], event: dict[str, Any] = event) -> set[str]:
                return {
                    queue
                    for a in catalog.agency_ids()
                    if EventPattern.load(json.dumps(route(a)[0])).matches_event(event)
                    for queue, _ in route(a)[1]
                }

            assert matched(local_route) == matched(cdk_route)
            assert agency_queue(service.agency) in matched(cdk_route)
            assert all(q.endswith(f"-{service.agency}") for q in matched(cdk_route))


def test_every_local_queue_exists_in_cdk_with_the_same_dlq_and_receives(
    prod: Any, bus: LocalBus
) -> None:
    _, t = prod
    sqs = boto3.client("sqs")
    cdk_queues = {p["QueueName"]: p for p in t.of_type("AWS::SQS::Queue").values()}
    assert bus.queue_urls
    for name, url in bus.queue_urls.items():
        assert PROD.physical(name) in cdk_queues, name
        answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        local = answer.get("Attributes", {})
        cdk = cdk_queues[PROD.physical(name)].get("RedrivePolicy")
        if "RedrivePolicy" not in local:
            assert cdk is None, name
            continue
        policy = json.loads(local["RedrivePolicy"])
        assert (
            t.queue_name(cdk["deadLetterTargetArn"])
            == policy["deadLetterTargetArn"].rsplit(":", 1)[1]
        )
        assert cdk["maxReceiveCount"] == int(policy["maxReceiveCount"]), name


def test_every_queue_is_encrypted_tls_only_and_has_a_dlq_or_is_one(prod):
    _, t = prod
    queues = t.of_type("AWS::SQS::Queue")
    dlq_ids = {
        q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q
    }
    for logical, queue in queues.items():
        assert queue["SqsManagedSseEnabled"] is True, logical
        assert "RedrivePolicy" in queue or queue["QueueName"].endswith("-dlq"), logical
        if "RedrivePolicy" not in queue:
            assert logical in dlq_ids or queue["QueueName"] in {
                "citizenbus-outbox-dlq",
                "citizenbus-schedules-dlq",
            }
    tls_only = set()
    for policy in t.of_type("AWS::SQS::QueuePolicy").values():
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                tls_only |= {q["Ref"] for q in policy["Queues"]}
    assert tls_only == set(queues)


def test_event_source_mappings_report_batch_item_failures(prod):
    _, t = prod
    mappings = t.of_type("AWS::Lambda::EventSourceMapping")
    expected = sum(bool(fn.stream) + len(fn.queues) for fn in FUNCTIONS)
    assert len(mappings) >= expected > 0
    for mapping in mappings.values():
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        if "StartingPosition" in mapping:  # a stream: poisoned batches go somewhere, not away
            assert mapping["BisectBatchOnFunctionError"] is True
            assert mapping["MaximumRetryAttempts"] > 0
            destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]
            assert t.queue_name(destination).endswith("-dlq")


def test_tables_follow_the_topology_encrypted_with_pitr_and_ttl(prod):
    _, t = prod
    tables = {p["TableName"]: p for p in t.of_type("AWS::DynamoDB::Table").values()}
    assert set(tables) == {f"citizenbus-{table.name}" for table in TABLES}
    key_ids = {p["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0] for p in tables.values()}
    (key_id,) = key_ids  # one customer key for the tables, rotated
    assert t.resources[key_id]["Type"] == "AWS::KMS::Key"
    assert t.props(key_id)["EnableKeyRotation"] is True
    for table in TABLES:
        props = tables[f"citizenbus-{table.name}"]
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["DeletionProtectionEnabled"] is True
        keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
        assert keys["HASH"] == table.key
        assert keys.get("RANGE") == table.sort_key
        if table.ttl:
            assert props["TimeToLiveSpecification"] == {"AttributeName": table.ttl, "Enabled": True}
        assert ("StreamSpecification" in props) == table.stream
        indexes = {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])}
        assert indexes == {name for name, _, _ in table.indexes}


def test_functions_run_arm64_python312_traced_with_json_logs(prod):
    _, t = prod
    for fn in FUNCTIONS:
        _, props = t.function_of(fn.name)
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.12"
        assert props["Handler"] == fn.handler
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
        for table in TABLES:
            assert env[f"{table.name.upper()}_TABLE"] == f"citizenbus-{table.name}"


def test_twilio_layer_only_on_functions_that_use_twilio(prod):
    _, t = prod
    layers = {
        logical: props["Description"]
        for logical, props in t.of_type("AWS::Lambda::LayerVersion").items()
    }
    for fn in FUNCTIONS:
        _, props = t.function_of(fn.name)
        attached = [layers[layer["Ref"]] for layer in props["Layers"]]
        assert any("shared third-party" in d for d in attached)
        assert any("twilio" in d and "no twilio" not in d for d in attached) == fn.uses_twilio


def _statements(t):
    for logical, policy in t.of_type("AWS::IAM::Policy").items():
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            resources = (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
            yield logical, actions, resources


# Actions AWS offers on no resource narrower than "*": X-Ray tracing, and the stream listing
# a DynamoDB stream event source needs.
STAR_ONLY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}


def test_iam_no_star_actions_and_star_resources_only_where_aws_allows_nothing_else(prod):
    _, t = prod
    for logical, actions, resources in _statements(t):
        for action in actions:
            assert action != "*" and not action.endswith(":*"), (logical, action)
        if "*" in resources:
            assert set(actions) <= STAR_ONLY, (logical, actions)


def test_table_access_is_scoped_to_the_functions_own_tables(prod):
    _, t = prod
    table_ids = {
        props["TableName"]: logical for logical, props in t.of_type("AWS::DynamoDB::Table").items()
    }
    roles = {
        props["Roles"][0]["Ref"]: logical
        for logical, props in t.of_type("AWS::IAM::Policy").items()
    }
    for fn in FUNCTIONS:
        _, props = t.function_of(fn.name)
        role = props["Role"]["Fn::GetAtt"][0]
        policy = t.props(roles[role])
        reached = set()
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            if not any(a.startswith("dynamodb:") for a in actions) or set(actions) <= STAR_ONLY:
                continue
            resources = (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
            assert "*" not in resources
            for resource in resources:
                text = json.dumps(resource)
                reached |= {name for name, logical in table_ids.items() if f'"{logical}"' in text}
        expected = {f"citizenbus-{name}" for name in fn.tables} | (
            {f"citizenbus-{fn.stream}"} if fn.stream else set()
        )
        assert reached == expected, fn.name


def test_outbox_publisher_may_put_events_on_the_bus_only(prod):
    _, t = prod
    (bus_id,) = t.of_type("AWS::Events::EventBus")
    for logical, actions, resources in _statements(t):
        if "events:PutEvents" in actions:
            assert resources == [{"Fn::GetAtt": [bus_id, "Arn"]}], logical


def test_secrets_reach_functions_by_arn_never_by_value(prod):
    _, t = prod
    secrets = t.of_type("AWS::SecretsManager::Secret")
    assert {p["Name"] for p in secrets.values()} >= {
        "citizenbus/twilio-auth-token",
        "citizenbus/agency-keys",
        "citizenbus/pseudonym-key",
    }
    for fn in FUNCTIONS:
        _, props = t.function_of(fn.name)
        env = props["Environment"]["Variables"]
        assert "PSEUDONYM_KEY" not in env
        # the functions that file or read requests, and any whose code carries what derives ids
        wanted = "secret:pseudonym" in effective_permissions(fn)
        assert ("PSEUDONYM_KEY_SECRET_ARN" in env) == wanted, fn.name
        assert wanted >= ("requests" in fn.tables), fn.name


def test_alarms_cover_every_dlq_and_every_function(prod):
    _, t = prod
    alarms = t.of_type("AWS::CloudWatch::Alarm").values()
    queues = t.of_type("AWS::SQS::Queue")
    watched_queues = {
        d["Value"]["Fn::GetAtt"][0]
        for a in alarms
        if a.get("Namespace") == "AWS/SQS"
        for d in a["Dimensions"]
    }
    assert {q for q, p in queues.items() if p["QueueName"].endswith("-dlq")} <= watched_queues
    for metric in ("Errors", "Throttles"):
        watched = {
            d["Value"]["Ref"]
            for a in alarms
            if a.get("MetricName") == metric
            for d in a["Dimensions"]
        }
        assert watched == {t.function_of(fn.name)[0] for fn in FUNCTIONS}
    assert t.of_type("AWS::CloudWatch::Dashboard")
    # alarms reach the (encrypted) topic: CloudWatch may use its key, and only its key
    (topic,) = t.of_type("AWS::SNS::Topic").values()
    for action in (a["AlarmActions"] for a in alarms):
        assert action == [{"Ref": next(iter(t.of_type("AWS::SNS::Topic")))}]
    topic_key = t.props(topic["KmsMasterKeyId"]["Fn::GetAtt"][0])
    assert "cloudwatch.amazonaws.com" in json.dumps(topic_key["KeyPolicy"])
    for key in t.of_type("AWS::KMS::Key").values():
        if key is not topic_key:
            assert "cloudwatch.amazonaws.com" not in json.dumps(key["KeyPolicy"])


def test_open_data_bucket_is_private_encrypted_and_tls_only(prod):
    _, t = prod
    buckets = t.of_type("AWS::S3::Bucket")
    for logical, bucket in buckets.items():
        assert bucket["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical
        assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    denied = set()
    for policy in t.of_type("AWS::S3::BucketPolicy").values():
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(
                statement.get("Condition", {})
            ):
                denied.add(policy["Bucket"]["Ref"])
    assert denied == set(buckets)


def test_function_assets_hold_only_their_own_code_and_stay_small(prod):
    result, _ = prod
    functions = result.stacks["prod"].functions
    for fn in FUNCTIONS:
        path = functions.asset_dirs[fn.name]
        from pathlib import Path

        root = Path(path)
        others = {f.handler.split(".")[1] for f in FUNCTIONS} - {fn.handler.split(".")[1]}
        present = {p.name for p in (root / "functions").iterdir() if p.is_dir()} - {"__pycache__"}
        own = fn.handler.split(".")[1]
        assert own in present, fn.name
        # the shared layers (functions/platform, functions/domain) and its own folder only
        assert present <= {"platform", "domain", own}, fn.name
        assert not present & others
        assert not (root / "tests").exists() and not (root / "citizenbus").exists()
        # the source stays small; its bytecode (Lambda cannot compile into /var/task) beside it
        bytecode = sum(p.stat().st_size for p in root.rglob("*.pyc"))
        assert assets.dir_size(root) - bytecode < 512 * 1024, fn.name
        sources = list(root.rglob("*.py"))
        assert len(list(root.rglob("__pycache__/*.pyc"))) == len(sources), fn.name
    # Lambda's limit is 250 MB unzipped for code and layers together
    total = sum(assets.dir_size(p) for p in functions.layer_dirs.values())
    assert total < 150 * 1024 * 1024
    assert not list(functions.layer_dirs["base"].glob("python/boto*"))
    assert not list(functions.layer_dirs["base"].glob("python/twilio"))
    assert list(functions.layer_dirs["twilio"].glob("python/twilio"))
    # compiled for the Lambda runtime (arm64, CPython 3.12), not for this machine
    (core,) = functions.layer_dirs["base"].glob("python/pydantic_core/_pydantic_core*.so")
    assert "cpython-312-aarch64-linux-gnu" in core.name
    assert list(functions.layer_dirs["base"].glob("python/pydantic/__pycache__/main.*.pyc"))


def test_each_route_class_has_its_own_throttle_so_one_client_cannot_starve_the_others(prod):
    _, t = prod
    (stage,) = t.of_type("AWS::ApiGatewayV2::Stage").values()
    settings = stage["RouteSettings"]
    route_keys = {r["RouteKey"] for r in t.of_type("AWS::ApiGatewayV2::Route").values()}
    assert set(settings) == route_keys  # every route, nothing else
    limits = {
        key: (s["ThrottlingRateLimit"], s["ThrottlingBurstLimit"]) for key, s in settings.items()
    }
    assert limits["POST /channels/sms"] == THROTTLES["twilio"]
    assert limits["POST /channels/voice"] == THROTTLES["twilio"]
    assert limits["POST /agency/v1/requests/{reference}/status"] == THROTTLES["agency"]
    assert limits["POST /app/v1/requests"] == THROTTLES["citizen"]
    assert limits["GET /open311/v2/{resource}"] == THROTTLES["open311"]
    assert limits["POST /status"] == THROTTLES["lookup"]
    assert len(set(THROTTLES.values())) >= 4  # distinct budgets, not one stage-wide limit
    (stage_id,) = t.of_type("AWS::ApiGatewayV2::Stage")
    depends = set(t.body["Resources"][stage_id].get("DependsOn", []))
    assert set(t.of_type("AWS::ApiGatewayV2::Route")) <= depends


def test_the_public_page_has_no_reservation_and_the_export_runs_alone(prod):
    _, t = prod
    _, page = t.function_of("open_data")
    _, export = t.function_of("open_data_export")
    assert "ReservedConcurrentExecutions" not in page
    assert export["ReservedConcurrentExecutions"] == 1


def test_the_dashboard_graphs_the_journey_kpis_by_service_and_channel(prod):
    _, t = prod
    (dashboard,) = t.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["DashboardBody"])
    for metric in (
        "TimeToFirstResponse",
        "TimeToResolution",
        "JourneyWithinSlaShare",
        "JourneyReopenRate",
        "JourneyFollowers",
        "JourneySatisfaction",
    ):
        assert f'MetricName=\\\\\\"{metric}\\\\\\"' in body, metric
    assert body.count("{CitizenBus,channel,service}") == 8  # by service and channel
    assert "p90" in body and "p50" in body

"""The local bus runs the template's wiring (citizenbus/local/wiring.json): each function sees
only its own environment and may do only what its role allows (moto's IAM evaluator)."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from citizenbus.local import iam, wiring
from citizenbus.local.runtime import ACCOUNT, REGION, LocalBus
from functions.platform import aws, process
from functions.platform.settings import get_settings
from tests.support.webhooks import file

TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/citizenbus-requests"


def test_a_function_sees_only_its_own_environment(bus: LocalBus) -> None:
    health = bus.environment_of("health")
    agency_api = bus.environment_of("agency_api")
    # The template gives agency_api the agency keys' secret; health gets no secret, no table
    # beyond what the template names for every function, no queue URL of another function.
    assert agency_api["AGENCY_KEYS_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
    assert "AGENCY_KEYS_SECRET_ARN" not in health
    assert "TWILIO_AUTH_TOKEN_SECRET_ARN" not in agency_api
    assert "NOTIFIER_QUEUE_URL" not in agency_api
    assert bus.environment_of("web")["NOTIFIER_QUEUE_URL"].endswith("/citizenbus-notifier")
    # The local bus's own inputs (the plain key values, the JWT secret) reach no function.
    for function in wiring.load()["functions"]:
        env = bus.environment_of(function)
        assert "CITIZENBUS_AGENCY_KEYS" not in env and "CITIZENBUS_JWT_SECRET" not in env
    # What a handler reads at run time is its own view of os.environ and its own settings.
    with bus.sandbox("health"):
        assert "AGENCY_KEYS_SECRET_ARN" not in os.environ
        assert get_settings().agency_keys_secret is None
    with bus.sandbox("agency_api"):
        assert os.environ["AGENCY_KEYS_SECRET_ARN"] == agency_api["AGENCY_KEYS_SECRET_ARN"]
        assert get_settings().agency_keys_secret == agency_api["AGENCY_KEYS_SECRET_ARN"]


def test_process_state_is_kept_per_function(bus: LocalBus) -> None:
    with bus.sandbox("open311"):
        open311_client = aws.dynamodb()
    with bus.sandbox("agency_api"):
        assert aws.dynamodb() is not open311_client
    with bus.sandbox("open311"):
        assert aws.dynamodb() is open311_client  # warm: the same client again
    process.reset()
    with bus.sandbox("open311"):
        assert aws.dynamodb() is not open311_client  # cold


def test_a_call_outside_the_role_is_access_denied(bus: LocalBus) -> None:
    """open311 may write the requests table; the health function may not touch it, and
    open311 may not read the agency keys or send on the bus."""
    with bus.sandbox("health"), pytest.raises(ClientError) as denied:
        aws.dynamodb().get_item(TableName="citizenbus-requests", Key={"reference": {"S": "x"}})
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:GetItem" in str(denied.value)
    with bus.sandbox("open311"):
        aws.dynamodb().get_item(TableName="citizenbus-requests", Key={"reference": {"S": "x"}})
        with pytest.raises(ClientError) as denied:
            aws.client("secretsmanager").get_secret_value(SecretId="citizenbus/agency-keys")
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
        with pytest.raises(ClientError):
            aws.events().put_events(
                Entries=[
                    {"Source": "x", "DetailType": "y", "Detail": "{}", "EventBusName": "citizenbus"}
                ]
            )
        with pytest.raises(ClientError) as denied:
            aws.sqs().send_message(QueueUrl=bus.queue_urls["citizenbus-notifier"], MessageBody="{}")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
    # The test harness (outside any function) is unrestricted, like CloudFormation.
    boto3.client("secretsmanager").get_secret_value(SecretId="citizenbus/agency-keys")


def test_a_handler_without_the_grant_fails_as_in_aws(bus: LocalBus) -> None:
    """Take the agency keys' grant away from agency_api's role: every agency is refused, as
    the deployed API would refuse them (the issue's missing grant)."""
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    path = f"/agency/v1/requests/{reference}"
    key = {"Authorization": "Bearer local-streets-key"}
    assert bus.request("GET", path, headers=key).status == 200
    role = bus.enforcer.roles["agency_api"]
    kept = [s for s in role.statements if "secretsmanager:GetSecretValue" not in _actions(s)]
    bus.enforcer.roles["agency_api"] = iam.Role("agency_api", kept)
    process.reset()
    process.inject(twilio_http_client=bus.twilio)
    # The handler fails the invocation (API Gateway would answer 500), as it would in AWS.
    with pytest.raises(Exception, match="AccessDeniedException"):
        bus.request("GET", path, headers=key)
    assert any(
        d.startswith("agency_api: secretsmanager:GetSecretValue") for d in bus.enforcer.denied
    )


def test_the_enforcer_evaluates_a_real_statement() -> None:
    role = iam.Role(
        "example",
        [
            {
                "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                "Effect": "Allow",
                "Resource": [TABLE_ARN, f"{TABLE_ARN}/index/*"],
            }
        ],
    )
    assert role.allows("dynamodb:GetItem", TABLE_ARN)
    assert role.allows("dynamodb:Query", f"{TABLE_ARN}/index/by-citizen")
    assert not role.allows("dynamodb:PutItem", TABLE_ARN)
    assert not role.allows("dynamodb:GetItem", TABLE_ARN.replace("requests", "citizens"))
    enforcer = iam.Enforcer({"example": role})
    batch: dict[str, Any] = {"RequestItems": {"citizenbus-requests": {}, "citizenbus-outbox": {}}}
    assert "citizenbus-outbox" in enforcer.check("example", "dynamodb", "BatchGetItem", batch)
    transact = {"TransactItems": [{"Put": {"TableName": "citizenbus-requests"}}]}
    assert "dynamodb:PutItem" in enforcer.check(
        "example", "dynamodb", "TransactWriteItems", transact
    )


def test_the_event_sources_and_schedules_are_the_templates(bus: LocalBus) -> None:
    wired = json.loads(wiring.WIRING_FILE.read_text(encoding="utf-8"))
    (stream,) = bus.streams
    source = wired["functions"]["outbox_publisher"]["event_sources"][0]
    assert (stream.function, stream.batch_size, stream.max_retries) == (
        "outbox_publisher",
        source["BatchSize"],
        source["MaximumRetryAttempts"],
    )
    assert stream.on_failure == "citizenbus-outbox-dlq" and stream.report_failures
    assert sorted(bus.schedule_minutes.items()) == [("open_data_export", 60), ("sla_monitor", 15)]
    assert ("citizenbus-notifier", "notifier") in bus.queue_consumers


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)

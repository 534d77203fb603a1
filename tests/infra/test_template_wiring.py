"""Gaps an operator would only meet in AWS, read from each environment's template.

Each test is one way a deployed function breaks while the local bus (which gives every handler
every variable and every permission) stays green: a setting the code reads that the template
does not set, so the code falls back to its local default (e-mail from a domain the role may
not send from, texts from the local placeholder Twilio account); a route or authorizer that API
Gateway may not invoke; a queue or stream nobody consumes; a schedule that cannot start its
function.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from typing import Any

import pytest

from functions.domain.agencies.routing import function_queue
from functions.platform.settings import Settings
from functions.topology import AUTHORIZERS, FUNCTIONS, Function
from infra.cdk import assets
from infra.cdk.constants import ENVIRONMENTS
from infra.cdk.functions_construct import expand_queues
from schemas.catalog import load_catalog
from tests.support.cdk import Template

# Settings whose default is right in AWS as well; every other setting a function's code reads
# must be in that function's Environment.Variables.
DEFAULT_HOLDS_IN_AWS = {
    "catalog_path": "None reads the catalog bundled in the function's asset",
    "languages_path": "None reads the language packs bundled in the function's asset",
    "max_body_bytes": "a limit, the same everywhere",
    "dedup_ttl_days": "a retention, the same everywhere",
    "local": "False is right outside the local bus",
    "twilio_messaging_service_sid": "optional (the template sets it, maybe empty)",
    "webhook_timeout_seconds": "a tunable",
    "webhook_attempts": "a tunable",
    "webhook_attempt_delay_seconds": "a tunable",
    "webhook_backoff_seconds": "a tunable",
    "webhook_backoff_max_seconds": "a tunable",
    "open_data_suppression": "a disclosure rule, the same everywhere",
    "open_data_days": "a window, the same everywhere",
    # the local bus's values; in AWS the value is read through its *_SECRET_ARN (test_secrets)
    "pseudonym_key": "local only",
    "twilio_auth_token": "local only",
}
# (function, setting): code the function's asset carries but never runs, with why.
CARRIED_NOT_RUN = {
    ("redrive", "webhook_secrets_key"): (
        "redrive imports agencies/webhooks.py for redrive() only, which moves DLQ messages "
        "back; it never encrypts or decrypts a signing secret (and may not: "
        "test_cdk_retries_and_secrets keeps the key from it)"
    ),
}
ALIAS = {f.name: f.metadata["env"] for f in dataclasses.fields(Settings)}


def settings_read_by(handler: str) -> set[str]:
    """The Settings fields the files of the function's asset read (``….name``)."""
    text = "\n".join(
        path.read_text(encoding="utf-8")
        for path in assets.first_party_files(handler.rpartition(".")[0])
        if path.suffix == ".py"
    )
    return {name for name in ALIAS if re.search(rf"\.{name}\b", text)}


def test_the_exceptions_name_real_settings_and_functions() -> None:
    assert set(DEFAULT_HOLDS_IN_AWS) <= set(ALIAS)
    names = {fn.name for fn in FUNCTIONS}
    for fn_name, setting in CARRIED_NOT_RUN:
        assert fn_name in names and setting in ALIAS
        assert setting in settings_read_by(
            next(f.handler for f in FUNCTIONS if f.name == fn_name)
        ), f"{fn_name} no longer carries {setting}: drop the exception"


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.name)
def test_every_setting_a_function_reads_is_set_unless_its_default_holds_in_aws(
    each_env: tuple[str, Template], fn: Function
) -> None:
    env_name, t = each_env
    variables = t.function_of(fn.name)[1]["Environment"]["Variables"]
    needed = {
        name
        for name in settings_read_by(fn.handler)
        if name not in DEFAULT_HOLDS_IN_AWS
        and (fn.name, name) not in CARRIED_NOT_RUN
        and not name.endswith("_secret")  # the secrets' ARNs: tests/infra/test_secrets.py
    }
    missing = sorted(ALIAS[name] for name in needed if ALIAS[name] not in variables)
    assert not missing, (
        f"{env_name}: {fn.name} reads {missing} and its template sets none of them, so in AWS "
        "it runs on the local default"
    )


def _statements(t: Template, fn_name: str) -> list[dict[str, Any]]:
    role = t.function_of(fn_name)[1]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in t.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Roles"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_email_is_sent_from_the_identity_the_role_may_send_from(
    each_env: tuple[str, Template],
) -> None:
    """Finding: EMAIL_FROM was unset, so the notifier sent from noreply@citizenbus.example
    while its role may send only as the configured identity: every e-mail AccessDenied."""
    env_name, t = each_env
    identity = ENVIRONMENTS[env_name].ses_identity
    senders = 0
    for fn in FUNCTIONS:
        grants = [s for s in _statements(t, fn.name) if "ses:SendEmail" in _listed(s["Action"])]
        if not grants:
            continue
        senders += 1
        (grant,) = grants
        resource = repr(grant["Resource"])
        assert f":identity/{identity}" in resource, (fn.name, resource)
        sender = t.function_of(fn.name)[1]["Environment"]["Variables"].get("EMAIL_FROM", "")
        domain = sender.rpartition("@")[2]
        assert sender == identity or domain == identity, (env_name, fn.name, sender)
    assert senders >= 1  # the notifier


def test_functions_that_text_use_the_operators_twilio_account_given_at_deploy(
    each_env: tuple[str, Template],
) -> None:
    """Finding: TWILIO_ACCOUNT_SID and TWILIO_FROM_NUMBER were unset, so in AWS the notifier
    texted from the local placeholder account (AC000…) and Twilio refused every SMS."""
    env_name, t = each_env
    parameters = t.body["Parameters"]
    required = {"TWILIO_ACCOUNT_SID": "TwilioAccountSid", "TWILIO_FROM_NUMBER": "TwilioFromNumber"}
    for name in required.values():
        assert "Default" not in parameters[name], name  # a deploy without it fails up front
    assert re.fullmatch(parameters["TwilioAccountSid"]["AllowedPattern"], "AC" + "0" * 32)
    assert not re.fullmatch(parameters["TwilioAccountSid"]["AllowedPattern"], "ACx")
    assert re.fullmatch(parameters["TwilioFromNumber"]["AllowedPattern"], "+46701234567")
    assert not re.fullmatch(parameters["TwilioFromNumber"]["AllowedPattern"], "0701234567")
    texting = [fn for fn in FUNCTIONS if "twilio_account_sid" in settings_read_by(fn.handler)]
    assert texting, "no function texts any more: drop this test"
    for fn in texting:
        assert fn.uses_twilio, fn.name
        variables = t.function_of(fn.name)[1]["Environment"]["Variables"]
        for variable, parameter in required.items():
            assert variables[variable] == {"Ref": parameter}, (env_name, fn.name, variable)
        assert variables["TWILIO_MESSAGING_SERVICE_SID"] == {"Ref": "TwilioMessagingServiceSid"}


def test_api_gateway_may_invoke_every_route_and_authorizer_function(
    each_env: tuple[str, Template],
) -> None:
    env_name, t = each_env
    (api,) = t.of_type("AWS::ApiGatewayV2::Api")
    allowed: dict[str, list[list[Any]]] = {}  # function logical id -> its SourceArns' parts
    # A SnapStart function is invoked through its alias (test_cdk_snapstart): the alias's
    # permission is the function's
    alias_of = {k: a["FunctionName"]["Ref"] for k, a in t.of_type("AWS::Lambda::Alias").items()}
    for permission in t.of_type("AWS::Lambda::Permission").values():
        if permission["Principal"] != "apigateway.amazonaws.com":
            continue
        assert permission["Action"] == "lambda:InvokeFunction"
        parts = permission["SourceArn"]["Fn::Join"][1]
        assert {"Ref": api} in parts  # this API only, not any API of the account
        target = permission["FunctionName"]
        logical = target["Fn::GetAtt"][0] if "Fn::GetAtt" in target else alias_of[target["Ref"]]
        allowed.setdefault(logical, []).append(parts)
    for fn in FUNCTIONS:
        logical, _ = t.function_of(fn.name)
        for route in fn.routes:
            if route.path != "/" and route.path.endswith("/"):
                continue  # HTTP API paths cannot end with "/" (test_cdk)
            # API Gateway names the route's path as written ({reference} included)
            concrete = f"/$default/{route.method}{route.path}"
            tails = [parts[-1] for parts in allowed.get(logical, [])]
            assert any(fnmatch.fnmatchcase(concrete, str(tail)) for tail in tails), (
                env_name,
                fn.name,
                f"{route.method} {route.path}",
            )
    for kind, fn_name in AUTHORIZERS.items():
        logical, _ = t.function_of(fn_name)
        authorizers = {
            k
            for k, a in t.of_type("AWS::ApiGatewayV2::Authorizer").items()
            if a["AuthorizerType"] == "REQUEST"
        }
        assert authorizers, (env_name, kind)
        for authorizer in authorizers:
            assert any(
                parts[-2:] == ["/authorizers/", {"Ref": authorizer}]
                for parts in allowed.get(logical, [])
            ), (env_name, kind, authorizer)


def test_every_queue_and_stream_a_function_consumes_has_its_event_source_mapping(
    each_env: tuple[str, Template],
) -> None:
    env_name, t = each_env
    catalog = load_catalog()
    queue_ids = {p["QueueName"]: k for k, p in t.of_type("AWS::SQS::Queue").items()}
    table_ids = {
        str(p["TableName"]).rpartition("-")[2]: k
        for k, p in t.of_type("AWS::DynamoDB::Table").items()
    }
    mappings = {
        (m["FunctionName"]["Ref"], m["EventSourceArn"]["Fn::GetAtt"][0])
        for m in t.of_type("AWS::Lambda::EventSourceMapping").values()
    }
    for fn in FUNCTIONS:
        logical, _ = t.function_of(fn.name)
        own = (function_queue(fn.name),) if fn.subscribes else ()
        for name in expand_queues(fn.queues + own, catalog):
            queue = queue_ids[ENVIRONMENTS[env_name].physical(name)]
            assert (logical, queue) in mappings, (env_name, fn.name, name)
            consume = {
                a
                for s in _statements(t, fn.name)
                if queue in repr(s["Resource"])
                for a in _listed(s["Action"])
            }
            assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= consume, (fn.name, name)
        if fn.stream:
            assert (logical, table_ids[fn.stream]) in mappings, (env_name, fn.name, fn.stream)


def test_every_scheduled_function_has_a_schedule_that_may_invoke_it(
    each_env: tuple[str, Template],
) -> None:
    env_name, t = each_env
    schedules = t.of_type("AWS::Scheduler::Schedule").values()
    roles = {s["Target"]["RoleArn"]["Fn::GetAtt"][0] for s in schedules}
    invocable = {
        r["Fn::GetAtt"][0]
        for policy in t.of_type("AWS::IAM::Policy").values()
        if any(ref.get("Ref") in roles for ref in policy["Roles"])
        for s in policy["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in _listed(s["Action"])
        for r in _listed(s["Resource"])
        if "Fn::GetAtt" in r
    }
    for fn in FUNCTIONS:
        if not fn.schedule_minutes:
            continue
        logical, _ = t.function_of(fn.name)
        (schedule,) = [
            s for s in schedules if s["Target"]["Arn"] == {"Fn::GetAtt": [logical, "Arn"]}
        ]
        assert schedule["State"] == "ENABLED", (env_name, fn.name)
        minutes = fn.schedule_minutes
        expected = (
            f"rate({minutes // 60} hour{'s' * (minutes > 60)})"
            if minutes % 60 == 0
            else (f"rate({minutes} minute{'s' * (minutes > 1)})")
        )
        assert schedule["ScheduleExpression"] == expected, (env_name, fn.name)
        assert logical in invocable, (env_name, fn.name)

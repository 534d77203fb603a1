"""Twilio webhook security: the signature over the public URL, checked before anything else."""

from __future__ import annotations

import base64
import copy
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import boto3
import pytest

from citizenbus.local.phone import FORM, call_params, sid, sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from functions.domain.citizens.identity import pseudonym
from functions.platform import process, secrets
from functions.platform.settings import LOCAL_TWILIO_AUTH_TOKEN, get_settings
from functions.platform.twilio_webhook import sign
from tests.support.bus import count_items, load_event, nothing_stored

ANNA = "+46701234567"
ROUTES = ["/channels/sms", "/channels/sms/status", "/channels/voice"]


def sample_for(path: str) -> dict[str, str]:
    name = {
        "/channels/sms": "twilio/sms_inbound.json",
        "/channels/sms/status": "twilio/sms_status_delivered.json",
        "/channels/voice": "twilio/voice_call_start.json",
    }[path]
    return dict(load_event(name)["params"])


def nothing_at_all_stored() -> bool:
    return nothing_stored() and count_items("citizens") == 0 and count_items("idempotency") == 0


@pytest.mark.parametrize("path", ROUTES)
def test_a_forged_or_missing_signature_gets_403_and_stores_nothing(
    bus: LocalBus, path: str
) -> None:
    params = sample_for(path)
    body = urlencode(params)
    cases = {
        "missing": {"Content-Type": FORM},
        "garbage": {"Content-Type": FORM, "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        "other token": {
            "Content-Type": FORM,
            "X-Twilio-Signature": sign(f"http://127.0.0.1:8000{path}", params, "someone-else"),
        },
    }
    for headers in cases.values():
        response = bus.request("POST", path, headers=headers, body=body)
        assert response.status == 403
        assert response.headers["Content-Type"].startswith("application/xml")
        assert "<Message>" not in response.text
    assert nothing_at_all_stored()


@pytest.mark.parametrize("path", ROUTES)
def test_a_signature_does_not_survive_a_changed_parameter_or_url(bus: LocalBus, path: str) -> None:
    params = sample_for(path)
    signature = sign(f"http://127.0.0.1:8000{path}", params)
    tampered = params | {"From": "+46709999999", "To": "+46709999999"}
    assert twilio_request(bus, path, tampered, signature=signature).status == 403
    # Signed for another path or host: refused too.
    other = sign(f"http://127.0.0.1:8000{path}x", params)
    assert twilio_request(bus, path, params, signature=other).status == 403
    assert nothing_at_all_stored()


def test_the_voice_step_in_the_query_string_is_covered_by_the_signature(bus: LocalBus) -> None:
    params = call_params(ANNA, sid("CA")) | {"Digits": "2"}
    signed_path = "/channels/voice?step=language&lang=sv&n=0"
    signature = sign(f"http://127.0.0.1:8000{signed_path}", params)
    ok = twilio_request(bus, signed_path, params, signature=signature)
    assert ok.status == 200 and "Approve your tax return: press 1" in ok.text
    forged = twilio_request(
        bus, "/channels/voice?step=confirmed&lang=sv&n=0", params, signature=signature
    )
    assert forged.status == 403


def test_parameters_twilio_adds_later_are_accepted_and_signed_over(bus: LocalBus) -> None:
    params = sms_params(ANNA, "HELP") | {"SomeFutureField": "42", "AddOns": '{"status":"ok"}'}
    response = twilio_request(bus, "/channels/sms", params)
    assert response.status == 200 and "Text a keyword" in response.text


def test_repeated_parameters_are_all_signed(bus: LocalBus) -> None:
    params = sms_params(ANNA, "HELP")
    pairs = [*params.items(), ("MediaUrl0", "https://a"), ("MediaUrl0", "https://b")]
    signed = dict(params)

    class Multi(dict):
        def getall(self, name):
            return [v for k, v in pairs if k == name]

    multi = Multi(signed | {"MediaUrl0": "x"})
    signature = sign("http://127.0.0.1:8000/channels/sms", multi)
    response = bus.request(
        "POST",
        "/channels/sms",
        headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
        body=urlencode(pairs),
    )
    assert response.status == 200


def test_the_public_url_is_what_twilio_signed() -> None:
    public = "https://citizens.example.se/bus"
    with LocalBus(public_url=public) as bus:
        assert get_settings().public_url == public
        params = sms_params(ANNA, "HELP")
        local_signature = sign("http://127.0.0.1:8000/channels/sms", params)
        assert twilio_request(bus, "/channels/sms", params, signature=local_signature).status == 403
        public_signature = sign(f"{public}/channels/sms", params)
        ok = twilio_request(bus, "/channels/sms", params, signature=public_signature)
        assert ok.status == 200
        # Voice actions point at the public URL, so Twilio comes back to the right place.
        call = twilio_request(bus, "/channels/voice", call_params(ANNA, sid("CA")))
        action = ET.fromstring(call.body).find("Gather").attrib["action"]
        assert action.startswith(f"{public}/channels/voice?step=language")


def test_an_api_gateway_event_on_a_named_stage_with_a_base64_body(bus: LocalBus) -> None:
    """A real-shaped HTTP API event: https via x-forwarded-proto, stage prefix, base64 form."""
    event = load_event("twilio/apigw_sms_inbound_prod_stage.json")
    assert event["isBase64Encoded"] and event["requestContext"]["stage"] == "prod"
    result = bus.invoke("sms", copy.deepcopy(event))
    assert result["statusCode"] == 200, result
    assert "Skada på gata" in result["body"]
    assert count_items("requests") == 1

    forged = copy.deepcopy(event)
    body = base64.b64decode(forged["body"]).decode().replace("deep+hole", "shallow+hole")
    forged["body"] = base64.b64encode(body.encode()).decode()
    assert bus.invoke("sms", forged)["statusCode"] == 403

    plain_http = copy.deepcopy(event)
    plain_http["headers"]["x-forwarded-proto"] = "http"
    assert bus.invoke("sms", plain_http)["statusCode"] == 403

    not_base64 = copy.deepcopy(event)
    not_base64["body"] = "%%%not base64%%%"
    assert bus.invoke("sms", not_base64)["statusCode"] == 400
    assert count_items("requests") == 1


def test_signed_url_rebuilds_what_twilio_called(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from functions.platform.twilio_webhook import signed_url

    base = load_event("twilio/apigw_sms_inbound_prod_stage.json")
    host = base["headers"]["host"]
    cases = [
        ({}, f"https://{host}/prod/channels/sms"),
        ({"rawQueryString": "a=1&b=%C3%A5"}, f"https://{host}/prod/channels/sms?a=1&b=%C3%A5"),
        (
            {"rawPath": "/channels/sms", "requestContext": {"stage": "$default"}},
            f"https://{host}/channels/sms",
        ),
        (
            {"rawPath": "/channels/sms", "headers": {"host": "api.example.se"}},
            "https://api.example.se/channels/sms",
        ),
    ]
    monkeypatch.delenv("CITIZENBUS_PUBLIC_URL", raising=False)
    process.reset()
    for changes, expected in cases:
        event = copy.deepcopy(base)
        for key, value in changes.items():
            if isinstance(value, dict):
                event[key].update(value)
            else:
                event[key] = value
        assert signed_url(APIGatewayProxyEventV2(event)) == expected
    monkeypatch.setenv("CITIZENBUS_PUBLIC_URL", "https://citizens.example.se/bus/")
    process.reset()
    try:
        event = copy.deepcopy(base)
        assert (
            signed_url(APIGatewayProxyEventV2(event))
            == "https://citizens.example.se/bus/channels/sms"
        )
    finally:
        monkeypatch.undo()
        process.reset()


def test_the_local_default_token_is_refused_outside_the_local_bus(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token is read from Secrets Manager at run time (the local bus made the secret and
    set its ARN, as the CDK app does); outside the local bus the local default is refused,
    and a rotated token is in use once the cache's max age has passed, without a redeploy."""
    arn = os.environ["TWILIO_AUTH_TOKEN_SECRET_ARN"]
    assert "TWILIO_AUTH_TOKEN" not in os.environ  # the value is in the secret, not the env
    monkeypatch.delenv("CITIZENBUS_LOCAL")
    monkeypatch.setattr(secrets, "MAX_AGE_SECONDS", 0)  # the cache's max age passes at once
    process.reset()
    try:
        params = sms_params(ANNA, "GATA Storgatan 1")
        signed = sign(
            (os.environ.get("CITIZENBUS_PUBLIC_URL") or "http://127.0.0.1:8000") + "/channels/sms",
            params,
            LOCAL_TWILIO_AUTH_TOKEN,
        )
        assert twilio_request(bus, "/channels/sms", params, signature=signed).status == 403
        real = "a-real-token-from-the-console"
        vault = boto3.client("secretsmanager")
        vault.put_secret_value(SecretId=arn, SecretString=real)
        pseudonym_arn = os.environ["PSEUDONYM_KEY_SECRET_ARN"]
        vault.put_secret_value(SecretId=pseudonym_arn, SecretString="a-real-pseudonym-key")
        signed = sign(
            (os.environ.get("CITIZENBUS_PUBLIC_URL") or "http://127.0.0.1:8000") + "/channels/sms",
            params,
            real,
        )
        assert twilio_request(bus, "/channels/sms", params, signature=signed).status == 200
    finally:
        process.reset()
    assert count_items("requests") == 1


def test_the_default_pseudonym_key_is_refused_outside_the_local_bus(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 8: the dev pseudonym key was used silently outside the local bus (every cit_ id
    reversible by anyone who read this repository)."""
    local_id = pseudonym("phone", ANNA)
    monkeypatch.delenv("CITIZENBUS_LOCAL")
    monkeypatch.setattr(secrets, "MAX_AGE_SECONDS", 0)
    process.reset()
    try:
        with pytest.raises(secrets.MissingSecret):
            pseudonym("phone", ANNA)
        monkeypatch.delenv("PSEUDONYM_KEY_SECRET_ARN")
        process.reset()
        with pytest.raises(secrets.MissingSecret):  # no secret at all: the same
            pseudonym("phone", ANNA)
    finally:
        monkeypatch.undo()
        process.reset()
    assert pseudonym("phone", ANNA) == local_id  # the local bus keeps its printed default


def test_an_oversized_body_is_refused_with_twiml(bus: LocalBus) -> None:
    params = sms_params(ANNA, "x" * 20_000)
    response = twilio_request(bus, "/channels/sms", params)
    assert response.status == 413
    assert response.headers["Content-Type"].startswith("application/xml")
    assert nothing_at_all_stored()


def test_functions_that_do_not_use_twilio_never_import_it() -> None:
    from functions.topology import FUNCTIONS

    users = {f.name for f in FUNCTIONS if f.uses_twilio}
    assert users >= {"sms", "voice"}
    for fn in FUNCTIONS:
        module = fn.handler.rpartition(".")[0]
        code = f"import sys, {module}; print('twilio' in sys.modules)"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        ).stdout.strip()
        assert out == "False", f"{fn.name} imports twilio at cold start"


def test_the_settings_never_show_a_secret_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Settings shown anywhere (a log line, a traceback's locals) names no secret's value:
    it has no generated repr listing every field."""
    from functions.platform.settings import Settings

    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "tok-shown-nowhere")
    monkeypatch.setenv("PSEUDONYM_KEY", "key-shown-nowhere")
    settings = Settings.from_env(os.environ)
    assert settings.twilio_auth_token == "tok-shown-nowhere"
    for shown in (repr(settings), str(settings), f"{settings!r}"):
        assert "shown-nowhere" not in shown

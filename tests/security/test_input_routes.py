"""Bad input on every HTTP route in ``functions/topology.py``: never a 5xx, always a clear 4xx.

For each route hypothesis draws path parameters (real references, injection strings, broken
percent-encoding), query strings, content types and bodies (JSON of any shape, forms with the
route's own field names, JSON sent as a form and the other way round, raw bytes, invalid
UTF-8, oversized bodies) and sends them with the right credentials, so the input reaches the
handler. Twilio routes get validly signed requests whose fields are garbage. Every answer is
below 500; every 4xx says what is wrong in the route family's own error format:
``{"errors": [{"field", "message"}]}``, TwiML ``<Response>`` for Twilio, Open311 error arrays
for Open311, a page for the web pages. A module-wide check afterwards: no request is stored
without its ``submitted`` event (nothing half-stored).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from citizenbus.local.phone import call_params, sid, sms_params
from citizenbus.local.runtime import HttpResponse, LocalBus
from functions import topology
from functions.platform.twilio_webhook import sign
from tests.support.bus import count_items, load_event
from tests.support.strategies import INJECTIONS, bodies, pct, text, tried
from tests.support.tokens import auth

ROUTES = [
    (fn.name, route)
    for fn in topology.FUNCTIONS
    for route in fn.routes
    if not route.path.startswith("/channels/")  # Twilio routes: test_twilio_garbage below
]
TWILIO_ROUTES = [r.path for fn in topology.FUNCTIONS if fn.uses_twilio for r in fn.routes]
AGENCY_KEY = {"Authorization": "Bearer local-streets-key"}
FIELDS = (
    "service_code",
    "attributes",
    "description",
    "contact",
    "phone",
    "email",
    "notify_by",
    "language",
    "consent",
    "submission_id",
    "address",
    "personal_code",
    "status",
    "note",
    "expected_at",
    "url",
    "types",
    "reference",
    "api_key",
    "address_string",
    "attribute[address]",
    "lat",
    "long",
)


def clear_error(path: str, response: HttpResponse) -> None:
    """The 4xx explains itself in the format of the route's family."""
    ctype = response.headers.get("Content-Type", "")
    if path.startswith("/channels/"):
        assert ctype.startswith("application/xml"), (path, ctype)
        assert ET.fromstring(response.body).tag == "Response"
        return
    if path.startswith("/open311/") and "xml" in ctype:
        root = ET.fromstring(response.body)
        assert root.tag == "errors" and root.findall("error/description"), response.text
        return
    if path.startswith("/open311/"):
        errors = response.json()
        assert isinstance(errors, list) and errors, response.text
        assert all(isinstance(e["code"], int) and e["description"] for e in errors)
        return
    if "html" in ctype:  # a web page drawn again with its errors, or the 404 page
        assert response.body.strip(), path
        return
    body = response.json()
    assert body["errors"], response.text
    for error in body["errors"]:
        assert isinstance(error["message"], str) and error["message"].strip()
        assert "field" in error


def send(bus: LocalBus, method: str, path: str, **kwargs: Any) -> HttpResponse:
    tried("routes")
    try:
        response = bus.request(method, path, **kwargs)
    except Exception as exc:  # in Lambda an unhandled exception is API Gateway's 500
        raise AssertionError(f"{method} {path} crashed (a 500 in AWS): {exc!r}") from exc
    assert response.status < 500, (method, path, response.status, response.body[:300])
    if response.status >= 400:
        clear_error(path, response)
    return response


@pytest.fixture(scope="module")
def filed(shared_bus: LocalBus) -> dict[str, str]:
    """A real request of each kind, so some fuzzed paths hit existing resources."""
    street = shared_bus.request(
        "POST",
        "/app/v1/requests",
        headers=auth("fuzzer"),
        json_body={"service_code": "street-damage", "attributes": {"address": "Storgatan 1"}},
    ).json()
    token = shared_bus.request(
        "POST",
        "/open311/v2/requests.json",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="api_key=local-open311-key&service_code=street-damage&address_string=Storgatan+2",
    ).json()[0]["token"]
    return {"reference": street["reference"], "token": token}


def path_value(name: str, filed: dict[str, str]) -> st.SearchStrategy[str]:
    real = {
        "reference": [filed["reference"], "1234567897", "0"],
        "request": [f"{filed['reference']}.json", f"{filed['reference']}.xml", "x.yaml"],
        "token": [f"{filed['token']}.json", f"{filed['token']}.xml"],
        "service_code": ["street-damage", "tax-return-approve", "no-such"],
        "service": ["street-damage.json", "street-damage.xml", "street-damage.csv"],
        "resource": ["requests.json", "requests.xml", "services.json", "discovery.xml", "x"],
        "name": ["site.css", "site.js", "../pyproject.toml", "%2e%2e%2fsecret"],
    }.get(name, [])
    return st.one_of(
        st.sampled_from(real or ["x"]),
        text.map(pct).filter(bool),
        st.sampled_from(["%ZZ", "%", "%C3%28", "%00", "..", "%2F"]),
    )


def query_strings() -> st.SearchStrategy[str]:
    keys = st.sampled_from(
        [
            "service_code",
            "start_date",
            "end_date",
            "status",
            "page",
            "page_size",
            "locale",
            "service_request_id",
            "jurisdiction_id",
            "service",
            "lang",
            "x",
        ]
    )
    pair = st.tuples(keys, text).map(lambda kv: f"{kv[0]}={pct(kv[1])}")
    raw = st.sampled_from(["a=%ZZ", "page=-1", "page_size=99999999999", "status=open&status=x"])
    return st.lists(st.one_of(pair, raw), max_size=4).map("&".join)


def credentials(route: topology.Route) -> dict[str, str]:
    if route.auth == "jwt":
        return auth("fuzzer")
    if route.auth == "agency":
        return dict(AGENCY_KEY)
    return {}


@pytest.mark.parametrize(("function", "route"), ROUTES, ids=lambda r: getattr(r, "path", r))
def test_every_route_answers_bad_input_with_a_clear_4xx(
    shared_bus: LocalBus, filed: dict[str, str], function: str, route: topology.Route
) -> None:
    import re

    names = re.findall(r"{(\w+)}", route.path)

    @given(
        params=st.fixed_dictionaries({n: path_value(n, filed) for n in names}),
        query=query_strings(),
        body=bodies(FIELDS),
        accept=st.sampled_from(["", "application/json", "text/html", "*/*", "application/xml"]),
        extra=st.dictionaries(
            st.sampled_from(["Idempotency-Key", "Cookie", "X-Forwarded-Proto", "Accept-Language"]),
            st.sampled_from(INJECTIONS),
            max_size=2,
        ),
    )
    @example(
        params=dict.fromkeys(names, "x"),
        query="",
        body=("application/json", b"{}"),
        accept="",
        extra={},
    )
    def run(
        params: dict[str, str],
        query: str,
        body: tuple[str, bytes],
        accept: str,
        extra: dict[str, str],
    ) -> None:
        path = route.path
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
        ctype, raw = body
        headers = {**credentials(route), **extra}
        if ctype:
            headers["Content-Type"] = ctype
        if accept:
            headers["Accept"] = accept
        target = f"{path}?{query}" if query else path
        send(shared_bus, route.method, target, headers=headers, body=raw)

    run()
    assert count_submitted_events() == count_items("requests"), "a request was half-stored"


def count_submitted_events() -> int:
    import boto3

    client = boto3.client("dynamodb")
    pages = client.get_paginator("scan").paginate(
        TableName="citizenbus-outbox",
        FilterExpression="#t = :s",
        ExpressionAttributeNames={"#t": "type"},
        ExpressionAttributeValues={":s": {"S": "org.citizenbus.request.submitted.v1"}},
        Select="COUNT",
    )
    return sum(p["Count"] for p in pages)


# -- Twilio: validly signed, garbage fields ------------------------------------------------------
def twilio_fields(path: str) -> dict[str, str]:
    if path == "/channels/sms":
        return sms_params("+46701234567", "GATA Storgatan 1")
    if path == "/channels/sms/status":
        return dict(load_event("twilio/sms_status_delivered.json")["params"])
    return call_params("+46701234567", sid("CA"))


@pytest.mark.parametrize("path", TWILIO_ROUTES)
def test_validly_signed_twilio_garbage_gets_twiml_never_a_5xx(
    shared_bus: LocalBus, path: str
) -> None:
    base = twilio_fields(path)
    garbage_values = st.one_of(
        text,
        st.sampled_from(["", "+", "00", "+999", "SM", "SM" + "g" * 32, "CA" + "0" * 31, "-1"]),
    )
    steps = [
        "",
        "step=lang",
        "step=menu&lang=sv",
        "step=attr&lang=en&service=street-damage&attr=0",
        "step=confirm&lang=sv&service=tax-return-approve",
        "step=%ZZ",
        "step=attr&n=x&attr=-9",
    ]

    @given(
        changes=st.dictionaries(
            st.sampled_from([*sorted(base), "Digits", "SpeechResult", "X"]),
            garbage_values,
            min_size=1,
            max_size=5,
        ),
        dropped=st.sets(st.sampled_from(sorted(base)), max_size=3),
        query=st.sampled_from(steps) if path == "/channels/voice" else st.just(""),
        settings_header=st.sampled_from(
            ["", "", "", "algorithm=MD5", "key=x,algorithm=HMAC_SHA256", "x{"]
        ),
    )
    def run(changes: dict[str, str], dropped: set[str], query: str, settings_header: str) -> None:
        params = {k: v for k, v in base.items() if k not in dropped} | changes
        # what Twilio signs is UTF-8: lone surrogates cannot be in a signed form
        params = {k: v.encode("utf-8", "replace").decode() for k, v in params.items()}
        target = f"{path}?{query}" if query else path
        url = "http://127.0.0.1:8000" + target
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(url, params),
        }
        if settings_header:
            headers["X-Twilio-Webhooks-Signature-Settings"] = settings_header
        response = send(shared_bus, "POST", target, headers=headers, body=urlencode(params))
        assert response.headers["Content-Type"].startswith("application/xml")
        ET.fromstring(response.body)  # always well-formed TwiML

    run()


@pytest.mark.parametrize("path", TWILIO_ROUTES)
def test_broken_twilio_bodies_get_twiml(shared_bus: LocalBus, path: str) -> None:
    @given(body=bodies(("Body", "From", "MessageSid", "CallSid", "Digits")), signed=st.booleans())
    def run(body: tuple[str, bytes], signed: bool) -> None:
        ctype, raw = body
        headers = {"Content-Type": ctype} if ctype else {}
        if signed:
            headers["X-Twilio-Signature"] = sign("http://127.0.0.1:8000" + path, {})
        response = send(shared_bus, "POST", path, headers=headers, body=raw)
        assert response.status in (200, 400, 403, 413, 415), response.status

    run()


def test_base64_bodies_that_do_not_decode_are_refused(shared_bus: LocalBus) -> None:
    """API Gateway hands form bodies over base64-encoded; a broken one is a 400, not a crash."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from functions.platform.errors import ApiError
    from functions.platform.http import raw_body
    from tests.support.strategies import b64_garbage

    @given(body=b64_garbage())
    def run(body: str) -> None:
        tried("routes")
        event = load_event("apigw/eservice_form.json") | {"body": body, "isBase64Encoded": True}
        try:
            raw_body(APIGatewayProxyEventV2(event))
        except ApiError as exc:
            assert exc.status == 400 and exc.errors[0]["message"]

    run()
    # and through a real handler: the e-service and the SMS webhook
    for function, path in (
        ("eservice", "/eservice/v1/forms/street-damage"),
        ("sms", "/channels/sms"),
    ):
        event = json.loads(json.dumps(load_event("apigw/eservice_form.json")))
        event.update(body="!!not base64!!", isBase64Encoded=True, rawPath=path)
        event["requestContext"]["http"]["path"] = path
        event["routeKey"] = f"POST {path}"
        if function == "sms":
            event["headers"]["x-twilio-signature"] = sign("http://127.0.0.1:8000" + path, {})
            event["headers"]["content-type"] = "application/x-www-form-urlencoded"
        result = shared_bus.invoke(function, event)
        assert 400 <= result["statusCode"] < 500, result

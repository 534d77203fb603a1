"""The app channel: JWT bearer, own requests only, clear 4xx on bad input."""

from __future__ import annotations

import pytest

from citizenbus.local.runtime import LocalBus
from tests.support.bus import count_items, load_event, nothing_stored
from tests.support.tokens import auth, make_token

TAX = {"service_code": "tax-return-approve", "attributes": {"personal_code": "12345678"}}


def test_filing_returns_a_reference_and_the_citizen_sees_it(bus: LocalBus) -> None:
    response = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=TAX)
    assert response.status == 201
    body = response.json()
    assert body["status"] == "received"
    assert body["agency"] == "tax" and body["channel"] == "app"
    assert [h["status"] for h in body["history"]] == ["received"]
    assert "personal_code" not in body["attributes"]

    listed = bus.request("GET", "/app/v1/requests", headers=auth()).json()["requests"]
    assert [r["reference"] for r in listed] == [body["reference"]]
    one = bus.request("GET", f"/app/v1/requests/{body['reference']}", headers=auth())
    assert one.status == 200 and one.json()["history"][0]["status"] == "received"


def test_another_citizen_gets_404_and_an_empty_list(bus: LocalBus) -> None:
    reference = bus.request(
        "POST", "/app/v1/requests", headers=auth("alice"), json_body=TAX
    ).json()["reference"]
    other = bus.request("GET", f"/app/v1/requests/{reference}", headers=auth("bob"))
    assert other.status == 404
    assert other.json()["errors"][0]["field"] == "reference"
    assert bus.request("GET", "/app/v1/requests", headers=auth("bob")).json() == {"requests": []}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-jwt"},
        {
            "Authorization": f"Bearer {make_token('x', secret='another-secret-of-at-least-32-bytes')}"
        },
        {"Authorization": f"Bearer {make_token('x', ttl=-60)}"},
    ],
    ids=["none", "basic", "garbage", "wrong-key", "expired"],
)
def test_no_valid_token_is_401_and_nothing_is_stored(
    bus: LocalBus, headers: dict[str, str]
) -> None:
    for method, path in [
        ("POST", "/app/v1/requests"),
        ("GET", "/app/v1/requests"),
        ("GET", "/app/v1/requests/79927398713"),
    ]:
        response = bus.request(
            method, path, headers=headers, json_body=TAX if method == "POST" else None
        )
        assert response.status == 401
        assert response.json()["errors"][0]["field"] == "authorization"
    assert nothing_stored()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"attributes": {"personal_code": "12345678"}}, "service_code"),
        ({"service_code": "parking-permit", "attributes": {}}, "service_code"),
        ({"service_code": "tax-return-approve", "attributes": {}}, "attributes.personal_code"),
        (
            {"service_code": "tax-return-approve", "attributes": {"personal_code": "1234567"}},
            "attributes.personal_code",
        ),
        (
            {"service_code": "tax-return-approve", "attributes": {"personal_code": 12345678}},
            "attributes.personal_code",
        ),
        ({"service_code": "tax-return-approve", "attributes": ["12345678"]}, "attributes"),
        (
            {
                "service_code": "street-damage",
                "attributes": {"address": "Storgatan 1", "colour": "red"},
            },
            "attributes.colour",
        ),
        (
            {"service_code": "street-damage", "attributes": {"address": "x" * 5000}},
            "attributes.address",
        ),
        (
            {
                "service_code": "street-damage",
                "attributes": {"address": "Storgatan 1"},
                "notify_by": "pigeon",
            },
            "notify_by",
        ),
        (
            {
                "service_code": "street-damage",
                "attributes": {"address": "Storgatan 1"},
                "language": "de",
            },
            "language",
        ),
        ({**TAX, "surprise": True}, "surprise"),
    ],
    ids=[
        "missing-service",
        "unknown-service",
        "missing-attribute",
        "seven-digits",
        "wrong-type",
        "attributes-not-object",
        "unknown-attribute",
        "oversized-field",
        "bad-notify",
        "bad-language",
        "extra-field",
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    bus: LocalBus, body: dict[str, object], field: str
) -> None:
    response = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=body)
    assert response.status == 400, response.text
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors], errors
    assert all(e["message"] for e in errors)
    assert nothing_stored()


def test_errors_come_in_the_citizens_language(bus: LocalBus) -> None:
    bad = {"service_code": "tax-return-approve", "attributes": {"personal_code": "1"}}
    sv = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=bad).json()["errors"][0][
        "message"
    ]
    en = bus.request(
        "POST", "/app/v1/requests", headers=auth(), json_body={**bad, "language": "en"}
    ).json()
    assert "8 siffror" in sv
    assert "8 digits" in en["errors"][0]["message"]


def test_malformed_bodies_get_clear_4xx(bus: LocalBus) -> None:
    cases = [
        ({"Content-Type": "application/json"}, b"{not json", 400),
        ({"Content-Type": "application/json"}, b"[1, 2]", 400),
        ({"Content-Type": "text/plain"}, b"service_code=tax", 415),
        ({"Content-Type": "application/json"}, b'{"service_code": "' + b"x" * 20_000 + b'"}', 413),
        ({"Content-Type": "application/json"}, b'{"service_code": "\xff\xfe"}', 400),
    ]
    for headers, body, status in cases:
        response = bus.request("POST", "/app/v1/requests", headers={**auth(), **headers}, body=body)
        assert response.status == status, (body[:30], response.text)
        assert response.json()["errors"][0]["message"]
    assert nothing_stored()


def test_the_same_idempotency_key_files_once(bus: LocalBus) -> None:
    headers = {**auth(), "Idempotency-Key": "tap-42"}
    first = bus.request("POST", "/app/v1/requests", headers=headers, json_body=TAX)
    again = bus.request("POST", "/app/v1/requests", headers=headers, json_body=TAX)
    assert first.status == 201 and again.status == 200
    assert again.json()["reference"] == first.json()["reference"]
    assert count_items("requests") == 1 and count_items("outbox") == 1
    # The key is the citizen's own: another citizen using it files their own request.
    other = bus.request(
        "POST",
        "/app/v1/requests",
        headers={**auth("someone-else"), "Idempotency-Key": "tap-42"},
        json_body=TAX,
    )
    assert other.status == 201 and other.json()["reference"] != first.json()["reference"]


def test_the_sample_api_gateway_event_is_handled_with_its_claims(bus: LocalBus) -> None:
    event = load_event("apigw/app_create_request.json")
    result = bus.invoke("app_api", event)
    assert result["statusCode"] == 201
    listed = bus.request("GET", "/app/v1/requests", headers=auth("citizen-example")).json()[
        "requests"
    ]
    assert listed[0]["service_code"] == "missed-waste-collection"
    # A missed collection's address is a home: personal (catalog), kept apart like a personal
    # code, so it is in no event, and the list shows the non-personal attributes only.
    assert listed[0]["attributes"] == {}

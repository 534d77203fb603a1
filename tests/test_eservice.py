"""Web e-service forms, form-encoded and JSON."""

from __future__ import annotations

from urllib.parse import urlencode

import boto3
import pytest

from citizenbus.local.runtime import LocalBus
from tests.support.bus import FORM, count_items, load_event, nothing_stored


def post_form(bus: LocalBus, service: str, fields: dict[str, str]) -> object:
    return bus.request(
        "POST", f"/eservice/v1/forms/{service}", headers=FORM, body=urlencode(fields)
    )


def stored(reference: str) -> dict[str, object]:
    item = boto3.client("dynamodb").get_item(
        TableName="citizenbus-requests", Key={"reference": {"S": reference}}
    )["Item"]
    return item


def test_a_form_post_files_a_request_with_contact_details(bus: LocalBus) -> None:
    response = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        headers=FORM,
        body=urlencode(
            {
                "address": "Storgatan 1",
                "description": "Deep hole",
                "phone": "070-123 45 67",
                "notify_by": "sms",
                "consent": "on",
                "language": "en",
            }
        ),
    )
    assert response.status == 201
    body = response.json()
    assert body["channel"] == "eservice" and body["agency"] == "streets"
    assert body["attributes"] == {"address": "Storgatan 1", "description": "Deep hole"}
    item = stored(body["reference"])
    assert item["contact"] == {"M": {"phone": {"S": "+46701234567"}}}
    assert item["notify_by"] == {"S": "sms"} and item["consent"] == {"BOOL": True}


def test_a_json_form_works_flat_or_nested(bus: LocalBus) -> None:
    flat = bus.request(
        "POST",
        "/eservice/v1/forms/tax-return-approve",
        json_body={
            "personal_code": "87654321",
            "email": "Anna@Example.se",
            "notify_by": "email",
            "consent": True,
        },
    )
    nested = bus.request(
        "POST",
        "/eservice/v1/forms/missed-waste-collection",
        json_body={
            "attributes": {"address": "Sopvägen 2"},
            "contact": {"email": "anna@example.se"},
        },
    )
    assert flat.status == 201 and nested.status == 201
    item = stored(flat.json()["reference"])
    assert item["personal"] == {"M": {"personal_code": {"S": "87654321"}}}
    assert item["attributes"] == {"M": {}}
    # Same e-mail, same pseudonymous citizen.
    assert item["citizen"] == stored(nested.json()["reference"])["citizen"]


@pytest.mark.parametrize(
    ("service", "fields", "field"),
    [
        ("street-damage", {"phone": "0701234567"}, "attributes.address"),
        ("street-damage", {"address": "Storgatan 1"}, "phone"),
        ("street-damage", {"address": "Storgatan 1", "phone": "12"}, "phone"),
        ("street-damage", {"address": "Storgatan 1", "email": "not-an-email"}, "contact.email"),
        (
            "street-damage",
            {"address": "Storgatan 1", "phone": "0701234567", "notify_by": "email"},
            "notify_by",
        ),
        (
            "tax-return-approve",
            {"personal_code": "1234567", "phone": "0701234567"},
            "attributes.personal_code",
        ),
        (
            "tax-return-approve",
            {"personal_code": "abcdefgh", "phone": "0701234567"},
            "attributes.personal_code",
        ),
        ("no-such-service", {"address": "Storgatan 1", "phone": "0701234567"}, "service_code"),
        (
            "street-damage",
            {"address": "Storgatan 1", "phone": "0701234567", "description": "x" * 2000},
            "description",
        ),
    ],
)
def test_bad_forms_name_the_field_and_store_nothing(
    bus: LocalBus, service: str, fields: dict[str, str], field: str
) -> None:
    for send in (
        lambda: post_form(bus, service, fields),
        lambda: bus.request("POST", f"/eservice/v1/forms/{service}", json_body=fields),
    ):
        response = send()
        assert response.status == 400, response.text
        fields_named = [e["field"] for e in response.json()["errors"]]
        assert any(f == field or f.endswith(field) for f in fields_named), fields_named
    assert nothing_stored()


def test_wrong_content_type_oversized_and_broken_bodies(bus: LocalBus) -> None:
    url = "/eservice/v1/forms/street-damage"
    assert (
        bus.request("POST", url, headers={"Content-Type": "text/plain"}, body="address=x").status
        == 415
    )
    assert bus.request("POST", url, headers=FORM, body="address=" + "x" * 40_000).status == 413
    assert (
        bus.request("POST", url, headers=FORM, body=b"address=%ff%fe&phone=0701234567").status
        == 400
    )
    assert bus.request("POST", url, json_body=["address"]).status == 400
    assert bus.request("POST", url, json_body={"address": 5, "phone": "0701234567"}).status == 400
    assert nothing_stored()


def test_a_double_submitted_form_files_once(bus: LocalBus) -> None:
    fields = {"address": "Storgatan 1", "phone": "0701234567", "submission_id": "form-7"}
    first, again = post_form(bus, "street-damage", fields), post_form(bus, "street-damage", fields)
    assert first.status == 201 and again.status == 200
    assert first.json()["reference"] == again.json()["reference"]
    assert count_items("requests") == 1


def test_the_sample_api_gateway_form_event(bus: LocalBus) -> None:
    event = load_event("apigw/eservice_form.json")
    first = bus.invoke("eservice", event)
    again = bus.invoke("eservice", event)  # a browser re-post: same submission id
    # A browser (Accept: text/html) is sent on to the receipt page, both times the same one.
    assert first["statusCode"] == 303 and again["statusCode"] == 303
    assert first["headers"]["Location"] == again["headers"]["Location"]
    assert first["headers"]["Location"].startswith("/en/receipt/")
    assert count_items("requests") == 1


def test_a_lone_surrogate_escape_is_refused_not_crashed(bus: LocalBus) -> None:
    # Found by the route fuzzer: "\ud800" is valid JSON but not text, and echoing it back in
    # an error message failed to encode (a 500). Now it is a 400 and nothing is stored.
    for body in ('{"\\ud800": "x", "phone": "0701234567"}', '{"address": "\\udfff"}'):
        response = bus.request(
            "POST",
            "/eservice/v1/forms/street-damage",
            headers={"Content-Type": "application/json"},
            body=body,
        )
        assert response.status == 400
        assert response.json()["errors"][0]["field"] == "body"
    assert nothing_stored()

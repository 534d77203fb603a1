"""The status look-up (issue 14, finding 2): a phone number alone shows a status, never the
request; the details follow only with a one-time code sent to that contact; repeated attempts
get 429 with ``Retry-After``."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from citizenbus.local.runtime import HttpResponse, LocalBus
from functions.domain.requests.reference import is_valid
from functions.web import lookup
from tests.support.bus import move
from tests.support.contacts import confirmed, last_code, outbox, text_bus

ANNA = "+46701234567"
JSON = {"Accept": "application/json"}


def file(bus: LocalBus, **fields: Any) -> str:
    body = {"address": "Storgatan 1 lgh 1102", "description": "Djupt hål vid porten", **fields}
    response = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)
    assert response.status == 201, response.text
    return str(response.json()["reference"])


def look_up(bus: LocalBus, reference: str, contact: str, **extra: str) -> HttpResponse:
    body = {"reference": reference, "contact": contact, **extra}
    return bus.request("POST", "/status", headers=JSON, json_body=body)


def ask_code(bus: LocalBus, reference: str, contact: str) -> HttpResponse:
    body = {"reference": reference, "contact": contact}
    return bus.request("POST", "/status/code", headers=JSON, json_body=body)


def noted(reference: str) -> None:
    from datetime import UTC, datetime

    move(reference, ("in_progress", datetime.now(UTC)), note="Vi lagar hålet på tisdag.")


def test_a_phone_number_shows_the_status_and_dates_only(bus: LocalBus) -> None:
    ref = file(bus, phone="0701234567")
    noted(ref)
    response = look_up(bus, ref, ANNA)
    assert response.status == 200
    shown = response.json()
    assert shown["status"] == "in_progress" and shown["expected_at"]
    assert set(shown) <= {*lookup.STATUS_ONLY, "history"}
    assert all(set(h) == {"status", "at"} for h in shown["history"])
    for secret in ("Storgatan", "Djupt", "tisdag", "address", "description", "attributes"):
        assert secret not in response.text
    page = bus.request(
        "POST",
        "/status",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        body=f"reference={ref}&contact=0701234567",
    )
    assert page.status == 200
    assert "Storgatan" not in page.text and "tisdag" not in page.text and "Djupt" not in page.text


def test_a_one_time_code_to_the_confirmed_contact_shows_the_request_once(
    bus: LocalBus, capsys: pytest.CaptureFixture[str]
) -> None:
    confirmed(phone=ANNA)
    ref = file(bus, phone="0701234567")
    noted(ref)
    assert ask_code(bus, ref, "070-123 45 67").status == 202
    bus.pump()
    code = last_code(bus)
    message = outbox(bus)[-1]
    assert message["to"] == ANNA and message["reference"] == ref and len(code) == 6
    full = look_up(bus, ref, ANNA, code=code)
    assert full.status == 200, full.text
    assert full.json()["attributes"]["address"] == "Storgatan 1 lgh 1102"
    assert "Vi lagar hålet på tisdag." in full.text
    # One time only.
    again = look_up(bus, ref, ANNA, code=code)
    assert again.status == 400 and again.json()["errors"][0]["field"] == "code"
    # Stored hashed, never logged.
    items = boto3.client("dynamodb").scan(TableName="citizenbus-citizens")["Items"]
    assert code not in str(items)
    assert code not in capsys.readouterr().out


def test_the_fifth_wrong_code_voids_it(bus: LocalBus) -> None:
    confirmed(email="anna@example.se")
    ref = file(bus, email="anna@example.se")
    ask_code(bus, ref, "Anna@Example.se")
    bus.pump()
    code = last_code(bus)
    wrong = "000000" if code != "000000" else "111111"
    answers = [look_up(bus, ref, "anna@example.se", code=wrong).status for _ in range(5)]
    assert answers == [400, 400, 400, 400, 429]
    assert look_up(bus, ref, "anna@example.se", code=code).status == 400  # void


def test_an_unconfirmed_contact_gets_no_code(bus: LocalBus) -> None:
    ref = file(bus, phone=ANNA, notify_by="sms", consent="on")
    bus.pump()
    assert len(outbox(bus)) == 1  # the confirmation
    assert ask_code(bus, ref, ANNA).status == 202
    bus.pump()
    assert len(outbox(bus)) == 1  # nothing else until it is confirmed


def test_unknown_reference_and_wrong_contact_answer_alike(bus: LocalBus) -> None:
    confirmed(phone=ANNA)
    ref = file(bus, phone=ANNA)
    other = next(r for r in ("1234567897", "1111111116") if r != ref)
    assert is_valid(other)
    wrong = look_up(bus, ref, "+46709999999")
    unknown = look_up(bus, other, ANNA)
    assert (wrong.status, wrong.body) == (unknown.status, unknown.body)
    asked = [ask_code(bus, r, c) for r, c in ((ref, "+46709999999"), (other, ANNA))]
    assert asked[0].status == asked[1].status == 202 and asked[0].body == asked[1].body
    bus.pump()
    assert outbox(bus) == []


def test_repeated_attempts_on_one_reference_get_429(bus: LocalBus) -> None:
    ref = file(bus, phone=ANNA)
    answers = [look_up(bus, ref, f"+4670{n:07d}").status for n in range(lookup.PER_REFERENCE)]
    assert set(answers) == {404}
    refused = look_up(bus, ref, ANNA)  # even the right contact, now
    assert refused.status == 429
    assert 0 < int(refused.headers["Retry-After"]) <= lookup.WINDOW_SECONDS
    assert ask_code(bus, ref, ANNA).status == 429


def test_repeated_attempts_from_one_client_get_429(bus: LocalBus) -> None:
    tries = [
        look_up(bus, f"{n:09d}", ANNA)  # any references, one client
        for n in range(lookup.PER_CLIENT)
    ]
    assert all(t.status == 404 for t in tries)
    refused = look_up(bus, "123456789", ANNA)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0


def test_a_number_that_sent_stop_gets_no_code(bus: LocalBus) -> None:
    ref = file(bus, phone=ANNA)
    text_bus(bus, ANNA, "STOP")  # texting proves the number; STOP declines every message
    assert ask_code(bus, ref, ANNA).status == 202
    bus.pump()
    assert outbox(bus) == []

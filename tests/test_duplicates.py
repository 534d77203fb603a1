"""Me too: a filing that repeats an open request follows it instead of making a second case."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from citizenbus.local.outbox import collect
from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.domain.citizens.identity import pseudonym
from functions.domain.requests import duplicates
from functions.domain.requests.intake import file_request
from functions.domain.requests.store import RequestStore
from schemas.catalog import Service, load_catalog
from schemas.request import Contact, NewRequest
from tests.support.bus import count_items
from tests.support.contacts import confirmed
from tests.support.tokens import auth

ANNA, BERIT, CECILIA = "+46701234567", "+46702222222", "+46703333333"
SUPPORTED = "org.citizenbus.request.supported.v1"


def file_web(bus: LocalBus, address: str, status: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"address": address, "description": "Djupt hål, ring Anna", **fields}
    response = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)
    assert response.status == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def text(bus: LocalBus, sender: str, body: str, sid: str | None = None) -> str:
    response = twilio_request(bus, "/channels/sms", sms_params(sender, body, sid))
    assert response.status == 200, response.text
    [message] = [m.text or "" for m in ET.fromstring(response.body).iter("Message")]
    return message


def agency_events(bus: LocalBus) -> list[dict[str, Any]]:
    bus.pump()
    return [m["detail"] for m in bus.queue_messages(agency_queue("streets"))]


def change_status(bus: LocalBus, reference: str, status: str) -> None:
    response = bus.request(
        "POST",
        f"/agency/v1/requests/{reference}/status",
        headers={"Authorization": "Bearer local-streets-key"},
        json_body={"status": status},
    )
    assert response.status == 200, response.text


def supporters(reference: str) -> int:
    record = RequestStore().get(reference)
    assert record is not None
    return int(record.get("supporters") or 0)


def test_a_web_filing_at_the_same_place_follows_the_open_request(bus: LocalBus) -> None:
    first = file_web(bus, "Storgatan 5", email="anna@example.se", phone="0701234567")
    again = file_web(bus, "storg. 5 ", status=200, email="berit@example.se")
    ref = first["reference"]
    assert again == {
        "duplicate_of": ref,
        "reference": ref,
        "service_code": "street-damage",
        "status": "received",
        "supporters": 1,
    }  # nothing of Anna: no contact, no description, no history
    assert count_items("requests") == 1
    events = agency_events(bus)
    assert [e["type"] for e in events] == ["org.citizenbus.request.submitted.v1", SUPPORTED]
    supported = events[1]
    assert supported["subject"] == ref and supported["data"]["supporters"] == 1
    raw = json.dumps(supported)
    assert "berit" not in raw and "anna@" not in raw and "0701234567" not in raw


def test_new_true_files_separately_anyway(bus: LocalBus) -> None:
    first = file_web(bus, "Storgatan 5", email="anna@example.se")
    second = file_web(bus, "Storgatan 5", email="berit@example.se", new=True)
    assert second["reference"] != first["reference"] and count_items("requests") == 2
    body: dict[str, Any] = {
        "service_code": "street-damage",
        "attributes": {"address": "Storgatan 5"},
    }
    app = bus.request("POST", "/app/v1/requests", headers=auth("cecilia"), json_body=body)
    assert app.status == 200
    assert app.json()["duplicate_of"] in (first["reference"], second["reference"])
    body["new"] = True
    app = bus.request("POST", "/app/v1/requests", headers=auth("cecilia"), json_body=body)
    assert app.status == 201 and count_items("requests") == 3


def test_an_sms_duplicate_is_told_the_reference_and_a_retry_counts_once(bus: LocalBus) -> None:
    ref = file_web(bus, "Storgatan 5", email="anna@example.se")["reference"]
    reply = text(bus, BERIT, "GATA Storgatan 5 stort hål", sid="SM" + "b" * 32)
    assert ref in reply and reply.startswith("Tack! Det är redan anmält")
    assert "anna" not in reply.lower()
    retry = text(bus, BERIT, "GATA Storgatan 5 stort hål", sid="SM" + "b" * 32)
    assert retry == reply
    assert supporters(ref) == 1
    english = text(bus, CECILIA, "STREET storgatan 5")
    assert english.startswith("Thank you! This is already reported") and ref in english
    assert supporters(ref) == 2
    counts = [e["data"]["supporters"] for e in agency_events(bus) if e["type"] == SUPPORTED]
    assert counts == [1, 2]  # one event per supporter, none for the retry
    again = text(bus, CECILIA, "STREET Storgatan 5")  # a second follow by the same citizen
    assert ref in again and supporters(ref) == 2
    assert count_items("requests") == 1


def test_the_same_citizen_reporting_the_same_place_again_files_again(bus: LocalBus) -> None:
    first = text(bus, ANNA, "GATA Storgatan 5")
    second = text(bus, ANNA, "GATA Storgatan 5")
    assert first.startswith("Tack! Skada") and second.startswith("Tack! Skada")
    assert count_items("requests") == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Storgatan 5", "Storgatan 5A"),  # another door
        ("Storgatan 5", "Storgatan 50"),
        ("Storgatan 5", "Lillgatan 5"),
        ("Storgatan", "Storgatan"),  # a whole street is no place
        ("Kungsberg 5", "Kungsbergatan 5"),  # no guessing of abbreviations without a period
    ],
)
def test_only_the_same_door_is_the_same_place(bus: LocalBus, first: str, second: str) -> None:
    file_web(bus, first, email="anna@example.se")
    file_web(bus, second, email="berit@example.se")  # 201: a new request
    assert count_items("requests") == 2


@pytest.mark.parametrize(
    ("address", "normal"),
    [
        ("Storgatan 5", "storgatan 5"),
        ("  STORGATAN   5 ", "storgatan 5"),
        ("Storg. 5", "storgatan 5"),
        ("Storgat. 5", "storgatan 5"),
        ("Storgatan 5 a", "storgatan 5a"),
        ("Storgatan 5, ", "storgatan 5"),
        ("Björkv. 3", "björkvägen 3"),
        ("Storgatan", None),
    ],
)
def test_the_place_rule(address: str, normal: str | None) -> None:
    assert duplicates.normalise_place(address) == normal


def test_closed_requests_and_requests_past_the_window_are_not_followed(bus: LocalBus) -> None:
    ref = file_web(bus, "Storgatan 5", email="anna@example.se")["reference"]
    change_status(bus, ref, "in_progress")
    change_status(bus, ref, "resolved")
    assert file_web(bus, "Storgatan 5", email="berit@example.se")["reference"] != ref
    # Past the service's window (30 days): filed as new, even though the first is open.
    later = datetime.now(UTC) + timedelta(days=31)
    request = NewRequest(
        service_code="street-damage",
        attributes={"address": "Storgatan 5"},
        contact=Contact(email="cecilia@example.se"),
        consent=True,
    )
    filed = file_request(request, channel="eservice", now=later)
    assert filed.created and not filed.duplicate
    assert count_items("requests") == 3


def test_other_services_are_never_merged(bus: LocalBus) -> None:
    for who in ("anna", "berit"):
        response = bus.request(
            "POST",
            "/eservice/v1/forms/missed-waste-collection",
            json_body={"address": "Storgatan 5", "email": f"{who}@example.se"},
        )
        assert response.status == 201, response.text  # a personal address: no duplicates


def test_the_catalog_refuses_a_duplicate_window_on_a_personal_address() -> None:
    catalog = load_catalog()
    waste = catalog.service("missed-waste-collection")
    assert waste is not None
    with pytest.raises(ValidationError, match="not personal"):
        Service.model_validate(waste.model_dump() | {"duplicate_days": 7})


def test_open311_answers_a_duplicate_with_the_existing_id_and_a_notice(bus: LocalBus) -> None:
    ref = file_web(bus, "Hamngatan 3", email="anna@example.se")["reference"]
    form = {
        "api_key": "local-open311-key",
        "service_code": "street-damage",
        "address_string": "hamngatan 3",
        "email": "berit@example.se",
    }
    from urllib.parse import urlencode

    posted = bus.request(
        "POST",
        "/open311/v2/requests.json",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(form),
    )
    assert posted.status == 200, posted.text
    [answer] = posted.json()
    assert answer["service_request_id"] == ref
    assert ref in answer["service_notice"] and "redan anmält" in answer["service_notice"]
    [public] = bus.request("GET", f"/open311/v2/requests/{ref}.json").json()
    assert public["supporters"] == 1


def test_followers_hear_of_a_status_change_in_their_language(bus: LocalBus) -> None:
    ref = file_web(bus, "Storgatan 5", email="anna@example.se")["reference"]
    text(bus, BERIT, "STREET Storgatan 5")  # texted: her number is proven, consent implied
    file_web(bus, "Storgatan 5", status=200, phone="0703333333", consent="true", notify_by="sms")
    bus.pump()
    collect(bus)
    change_status(bus, ref, "in_progress")
    bus.pump()
    sent = collect(bus)
    to_berit = [m for m in sent if m["to"] == BERIT]
    assert len(to_berit) == 1 and ref in to_berit[0]["body"]
    assert "is now being handled" in to_berit[0]["body"]  # English, as she texted
    # Cecilia typed her number in a form and never confirmed it: no text to a stranger.
    assert not [m for m in sent if m["to"] == CECILIA]
    confirmed(phone=CECILIA)
    change_status(bus, ref, "resolved")
    bus.pump()
    assert [m["to"] for m in collect(bus) if m["to"] in (BERIT, CECILIA)].count(CECILIA) == 1


def test_a_request_takes_a_capped_number_of_followers(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duplicates, "MAX_FOLLOWERS", 2)
    ref = file_web(bus, "Storgatan 5", email="anna@example.se")["reference"]
    for n in range(4):
        answer = file_web(bus, "Storgatan 5", status=200, email=f"p{n}@example.se")
        assert answer["duplicate_of"] == ref
    assert supporters(ref) == 2
    assert [e["type"] for e in agency_events(bus)].count(SUPPORTED) == 2


def test_the_follower_goes_with_an_erasure(bus: LocalBus) -> None:
    from functions.domain.citizens.erasure import erase
    from functions.domain.citizens.store import CitizenStore

    ref = file_web(bus, "Storgatan 5", email="anna@example.se")["reference"]
    text(bus, BERIT, "GATA Storgatan 5")
    assert [f["citizen"] for f in CitizenStore().followers(ref)] == [pseudonym("phone", BERIT)]
    erase(phone=BERIT)
    assert CitizenStore().followers(ref) == []
    assert re.fullmatch(r"\d{10}", ref)


def test_a_browser_duplicate_lands_on_a_receipt_that_says_so(bus: LocalBus) -> None:
    ref = file_web(bus, "Storgatan 5", email="anna@example.se")["reference"]
    browser = {
        "Accept": "text/html,application/xhtml+xml",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    fields = {"address": "Storgatan 5", "email": "berit@example.se", "language": "en"}
    posted = bus.request(
        "POST", "/eservice/v1/forms/street-damage", headers=browser, body=urlencode(fields)
    )
    assert posted.status == 303, posted.text
    location = posted.headers["Location"]
    assert f"/receipt/{ref}?" in location and "duplicate=1" in location
    page = bus.request("GET", location, headers={"Accept": "text/html"}).text
    assert "This is already reported" in page and ref in page and "anna" not in page

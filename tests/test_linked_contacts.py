"""Linked contacts (issue 17): an app citizen proves a phone or e-mail with a one-time code and
is one person across channels from then on; the codes are capped so that no stranger can
make the bus text any number at will."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from citizenbus.local.runtime import HttpResponse, LocalBus
from functions.domain.citizens import erasure
from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.store import CitizenStore
from functions.platform import clock
from tests.support.contacts import last_code, link, outbox, text_bus
from tests.support.tokens import auth

ANNA = "+46701234567"
BERIT = "+46709876543"
STREET = {"service_code": "street-damage", "attributes": {"address": "Appvägen 3"}}


def ask(bus: LocalBus, sub: str, **contact: str) -> HttpResponse:
    return bus.request("POST", "/app/v1/me/contacts", headers=auth(sub), json_body=contact)


def verify(bus: LocalBus, sub: str, code: str, **contact: str) -> HttpResponse:
    body: dict[str, Any] = {**contact, "code": code}
    return bus.request("POST", "/app/v1/me/contacts/verify", headers=auth(sub), json_body=body)


def listed(bus: LocalBus, sub: str) -> list[str]:
    answer = bus.request("GET", "/app/v1/requests", headers=auth(sub))
    assert answer.status == 200, answer.text
    return [r["reference"] for r in answer.json()["requests"]]


def reference_in(text: str) -> str:
    import re

    found = re.search(r"\b(\d{8,12})\b", text)
    assert found, text
    return found.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_an_sms_filing_shows_in_the_app_once_the_phone_is_linked_and_back(bus: LocalBus) -> None:
    by_sms = reference_in(text_bus(bus, ANNA, "GATA Sms-gatan 1"))
    by_app = bus.request("POST", "/app/v1/requests", headers=auth("anna"), json_body=STREET)
    assert by_app.status == 201
    app_ref = by_app.json()["reference"]
    assert listed(bus, "anna") == [app_ref]  # not linked yet: nothing of the phone's
    assert app_ref not in text_bus(bus, ANNA, "STATUS")

    link(bus, "anna", phone="070-123 45 67")

    assert set(listed(bus, "anna")) == {by_sms, app_ref}
    one = bus.request("GET", f"/app/v1/requests/{by_sms}", headers=auth("anna"))
    assert one.status == 200 and one.json()["channel"] == "sms"
    # STATUS by SMS from the linked phone also lists (and finds) what the app filed.
    listing = text_bus(bus, ANNA, "STATUS")
    assert by_sms in listing and app_ref in listing
    assert "(Skada på gata): mottaget" in text_bus(bus, ANNA, f"STATUS {app_ref}")
    # Another app citizen and another phone see none of it.
    assert listed(bus, "bo") == []
    assert "Vi hittar inget" in text_bus(bus, BERIT, f"STATUS {app_ref}")
    assert bus.request("GET", f"/app/v1/requests/{by_sms}", headers=auth("bo")).status == 404


def test_me_shows_contacts_masked_and_unlinking_separates_them_again(bus: LocalBus) -> None:
    by_sms = reference_in(text_bus(bus, ANNA, "GATA Sms-gatan 1"))
    link(bus, "anna", phone=ANNA)
    link(bus, "anna", email="Anna@Example.se")
    me = bus.request("GET", "/app/v1/me", headers=auth("anna"))
    assert me.status == 200
    contacts = me.json()["contacts"]
    assert contacts["phone"]["value"] == "+46•••••••67"
    assert contacts["email"]["value"] == "a•••@example.se"
    assert "701234567" not in me.text and "anna@" not in me.text.lower()

    gone = bus.request("DELETE", "/app/v1/me/contacts/phone", headers=auth("anna"))
    assert gone.status == 200 and set(gone.json()["contacts"]) == {"email"}
    assert by_sms not in listed(bus, "anna")
    again = bus.request("DELETE", "/app/v1/me/contacts/phone", headers=auth("anna"))
    assert again.status == 200 and set(again.json()["contacts"]) == {"email"}  # idempotent
    assert bus.request("DELETE", "/app/v1/me/contacts/fax", headers=auth("anna")).status == 404


def test_a_wrong_code_is_400_the_fifth_429_and_the_code_is_void(bus: LocalBus) -> None:
    assert ask(bus, "anna", phone=ANNA).status == 202
    bus.pump()
    [sent] = outbox(bus)
    assert sent["to"] == ANNA and sent["channel"] == "sms"
    code = last_code(bus)
    for _ in range(4):
        answer = verify(bus, "anna", wrong(code), phone=ANNA)
        assert answer.status == 400 and answer.json()["errors"][0]["field"] == "code"
    fifth = verify(bus, "anna", wrong(code), phone=ANNA)
    assert fifth.status == 429 and "Retry-After" in fifth.headers
    # The right code is no good any more: it was voided.
    assert verify(bus, "anna", code, phone=ANNA).status == 400
    assert bus.request("GET", "/app/v1/me", headers=auth("anna")).json()["contacts"] == {}


def test_a_code_is_for_the_contact_and_the_caller_it_was_sent_for(bus: LocalBus) -> None:
    assert ask(bus, "anna", phone=ANNA).status == 202
    bus.pump()
    code = last_code(bus)
    assert verify(bus, "bo", code, phone=ANNA).status == 400  # another caller
    assert verify(bus, "anna", code, phone=BERIT).status == 400  # another number
    assert verify(bus, "anna", code, phone=ANNA).status == 200


def test_a_code_expires_after_ten_minutes(bus: LocalBus, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ask(bus, "anna", phone=ANNA).status == 202
    bus.pump()
    code = last_code(bus)
    later = clock.now() + timedelta(minutes=10, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert verify(bus, "anna", code, phone=ANNA).status == 400
    assert bus.request("GET", "/app/v1/me", headers=auth("anna")).json()["contacts"] == {}


def test_codes_are_capped_per_contact_and_per_caller(bus: LocalBus) -> None:
    """A stranger cannot make the bus text a number at will: three codes a day reach one
    number whoever asks, and one caller gets five an hour."""
    answers = [ask(bus, f"stranger-{n}", phone=ANNA).status for n in range(5)]
    assert answers == [202, 202, 202, 429, 429]
    bus.pump()
    assert len([m for m in outbox(bus) if m["to"] == ANNA]) == 3
    numbers = [f"+4670{n:07d}" for n in range(1, 8)]
    answers = [ask(bus, "greedy", phone=number).status for number in numbers]
    assert answers == [202] * 5 + [429] * 2
    refused = ask(bus, "greedy", phone="+46701112233")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "08-123 456 78"}, "phone"),  # a landline: no codes
        ({"phone": "+4420 7946 0958"}, "phone"),  # abroad
        ({"phone": "nonsense"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({}, "phone"),
        ({"phone": ANNA, "email": "a@example.se"}, "phone"),
    ],
)
def test_bad_contacts_are_refused_and_nothing_is_sent(
    bus: LocalBus, body: dict[str, str], field: str
) -> None:
    answer = bus.request("POST", "/app/v1/me/contacts", headers=auth("anna"), json_body=body)
    assert answer.status == 400
    assert field in [e["field"] for e in answer.json()["errors"]]
    bus.pump()
    assert outbox(bus) == []
    assert bus.request("POST", "/app/v1/me/contacts", json_body=body).status == 401


def test_preferences_take_only_a_linked_phone(bus: LocalBus) -> None:
    prefs = {"notify_by": "sms", "phone": ANNA, "consent": True}
    refused = bus.request("PUT", "/app/v1/me/preferences", headers=auth("anna"), json_body=prefs)
    assert refused.status == 409
    assert refused.json()["errors"][0]["field"] == "phone"
    assert CitizenStore().preferences(pseudonym("app", "anna")) == {}

    link(bus, "anna", phone=ANNA)
    saved = bus.request("PUT", "/app/v1/me/preferences", headers=auth("anna"), json_body=prefs)
    assert saved.status == 200, saved.text
    # Without a phone, notify_by=sms takes the linked one.
    bare = {"notify_by": "sms", "consent": True}
    assert (
        bus.request("PUT", "/app/v1/me/preferences", headers=auth("anna"), json_body=bare).json()[
            "phone"
        ]
        == ANNA
    )


def test_notifications_go_to_the_preferred_channel_of_the_linked_person(bus: LocalBus) -> None:
    """Filed by SMS; the citizen linked that phone and an e-mail in the app and prefers
    e-mail: the SMS request's update comes by e-mail, without a confirmation first."""
    by_sms = reference_in(text_bus(bus, ANNA, "STREET Sms-gatan 1"))
    link(bus, "anna", phone=ANNA)
    link(bus, "anna", email="anna@example.se")
    prefs = {"notify_by": "email", "consent": True}
    saved = bus.request("PUT", "/app/v1/me/preferences", headers=auth("anna"), json_body=prefs)
    assert saved.status == 200, saved.text
    before = len(outbox(bus))
    changed = bus.request(
        "POST",
        f"/agency/v1/requests/{by_sms}/status",
        headers={"Authorization": "Bearer local-streets-key"},
        json_body={"status": "in_progress"},
    )
    assert changed.status == 200
    bus.pump()
    [update] = outbox(bus)[before:]
    assert update["channel"] == "email" and update["to"] == "anna@example.se"
    assert by_sms in update["body"] and "being handled" in update["body"]  # STREET: English


def test_erasure_follows_proven_links_only(bus: LocalBus) -> None:
    by_sms = reference_in(text_bus(bus, ANNA, "GATA Sms-gatan 1"))
    by_berit = reference_in(text_bus(bus, BERIT, "GATA Beritgatan 2"))
    link(bus, "anna", phone=ANNA)
    # A code asked for Berit's number but never entered links nothing.
    assert ask(bus, "anna", phone=BERIT).status == 202
    bus.pump()
    app_ref = bus.request("POST", "/app/v1/requests", headers=auth("anna"), json_body=STREET)

    done = erasure.erase(citizen=pseudonym("app", "anna"))
    assert done.requests == 2  # the app's and the linked phone's
    from functions.domain.requests.store import RequestStore

    store = RequestStore()
    for reference in (by_sms, app_ref.json()["reference"]):
        record = store.get(reference)
        assert record is not None and record["citizen"] == erasure.ERASED
    kept = store.get(by_berit)
    assert kept is not None and kept["citizen"] == pseudonym("phone", BERIT)
    assert kept["contact"]["phone"] == BERIT


def test_erasing_the_phone_takes_the_app_account_linked_to_it(bus: LocalBus) -> None:
    link(bus, "anna", phone=ANNA)
    app_ref = bus.request("POST", "/app/v1/requests", headers=auth("anna"), json_body=STREET)
    done = erasure.erase(phone="070-123 45 67")
    assert done.requests == 1
    assert listed(bus, "anna") == []
    assert app_ref.json()["reference"]
    assert bus.request("GET", "/app/v1/me", headers=auth("anna")).json()["contacts"] == {}


def test_web_filings_count_only_once_the_contact_was_confirmed(bus: LocalBus) -> None:
    """Anyone can type anyone's number into a web form: what was filed with it before its
    owner proved it stays out of their app; what is filed after, shows."""
    form = {"address": "Främlingsvägen 1", "phone": ANNA, "notify_by": "none"}
    before = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=form)
    assert before.status == 201
    import time

    time.sleep(1.1)  # filings are stamped to the second
    link(bus, "anna", phone=ANNA)
    time.sleep(1.1)
    after = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=form)
    assert after.status == 201
    mine = listed(bus, "anna")
    assert after.json()["reference"] in mine
    assert before.json()["reference"] not in mine
    hidden = bus.request(
        "GET", f"/app/v1/requests/{before.json()['reference']}", headers=auth("anna")
    )
    assert hidden.status == 404

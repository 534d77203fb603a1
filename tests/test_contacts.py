"""Confirming contact details (issue 14, findings 1 and 10): no texts to strangers.

A phone or e-mail typed where the citizen has not proven it gets one confirmation message per
request and nothing else until it is confirmed; three confirmations per contact a day at
most; SMS only to mobile numbers of the jurisdiction's countries; notifications need consent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from citizenbus.local.runtime import HttpResponse, LocalBus
from tests.support.bus import FORM, count_items, nothing_stored
from tests.support.contacts import confirm_link, link, outbox, text_bus
from tests.support.tokens import auth

VICTIM = "+46701234567"


def file_json(bus: LocalBus, **fields: Any) -> HttpResponse:
    body = {"address": "Storgatan 1", **fields}
    return bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)


def file_ok(bus: LocalBus, **fields: Any) -> str:
    response = file_json(bus, **fields)
    assert response.status == 201, response.text
    return str(response.json()["reference"])


def change_status(bus: LocalBus, reference: str, status: str, agency: str = "streets") -> None:
    response = bus.request(
        "POST",
        f"/agency/v1/requests/{reference}/status",
        headers={"Authorization": f"Bearer local-{agency}-key"},
        json_body={"status": status, "note": "Lagat."},
    )
    assert response.status == 200, response.text


def test_a_typed_number_gets_one_confirmation_and_nothing_else_until_ja(bus: LocalBus) -> None:
    ref = file_ok(bus, phone="070-123 45 67", notify_by="sms", consent="on")
    bus.pump()
    [ask] = outbox(bus)
    assert ask["channel"] == "sms" and ask["to"] == VICTIM and ask["reference"] == ref
    assert ref in ask["body"] and "Svara JA" in ask["body"] and "STOP" in ask["body"]
    # Not confirmed: the status change sends nothing, not even a second confirmation.
    change_status(bus, ref, "in_progress")
    bus.pump()
    assert len(outbox(bus)) == 1
    reply = text_bus(bus, VICTIM, "JA")
    assert f"ärende {ref}" in reply
    change_status(bus, ref, "resolved")
    bus.pump()
    sent = outbox(bus)
    assert "är klart" in sent[1]["body"] and sent[1]["to"] == VICTIM
    # ...and then the one verdict question (consent was given), nothing else.
    assert len(sent) == 3 and "Svara med en siffra" in sent[2]["body"]


def test_stop_declines_and_ja_after_it_does_not_undo_it(bus: LocalBus) -> None:
    ref = file_ok(bus, phone=VICTIM, notify_by="sms", consent="on")
    bus.pump()
    text_bus(bus, VICTIM, "STOP")
    assert f"ärende {ref}" not in text_bus(bus, VICTIM, "JA")
    change_status(bus, ref, "in_progress")
    bus.pump()
    assert len(outbox(bus)) == 1  # the confirmation only


def test_at_most_three_confirmations_reach_one_number_a_day(bus: LocalBus) -> None:
    for n in range(5):  # five strangers' forms naming the same number
        file_ok(bus, address=f"Storgatan {n + 1}", phone=VICTIM, notify_by="sms", consent="on")
    bus.pump()
    assert [m["to"] for m in outbox(bus)] == [VICTIM] * 3


def test_a_number_that_texted_the_bus_is_confirmed_by_that(bus: LocalBus) -> None:
    text_bus(bus, VICTIM, "HJÄLP")
    ref = file_ok(bus, phone=VICTIM, notify_by="sms", consent="on")
    bus.pump()
    [receipt] = outbox(bus)
    assert receipt["reference"] == ref and "Vi har tagit emot" in receipt["body"]
    # ...and stays confirmed for later requests.
    file_ok(bus, address="Storgatan 9", phone=VICTIM, notify_by="sms", consent="on")
    bus.pump()
    assert all("Vi har tagit emot" in m["body"] for m in outbox(bus))


def test_an_email_confirms_only_with_the_button_not_by_opening_the_link(bus: LocalBus) -> None:
    ref = file_ok(bus, email="anna@example.se", notify_by="email", consent="1", language="en")
    bus.pump()
    [mail] = outbox(bus)
    assert mail["channel"] == "email" and mail["reference"] == ref
    path = confirm_link(mail)
    assert path.startswith("/en/confirm/")
    opened = bus.request("GET", path)  # a mail scanner, or the citizen, opens the link
    assert opened.status == 200 and 'method="post"' in opened.text
    change_status(bus, ref, "in_progress")
    bus.pump()
    assert len(outbox(bus)) == 1  # opening confirmed nothing
    pressed = bus.request("POST", path, headers=FORM, body="")
    assert pressed.status == 200 and ref in pressed.text
    assert bus.request("POST", path, headers=FORM, body="").status == 404  # used up
    change_status(bus, ref, "resolved")
    bus.pump()
    sent = outbox(bus)
    assert "has been resolved" in sent[1]["body"]
    assert len(sent) == 3 and "What did you think?" in sent[2]["subject"]  # the one verdict


def test_an_unknown_confirmation_token_is_a_404(bus: LocalBus) -> None:
    assert bus.request("GET", "/confirm/nonsense").status == 404
    assert bus.request("POST", "/confirm/nonsense", headers=FORM, body="").status == 404


@pytest.mark.parametrize(
    "number",
    [
        "+46900123456",  # Swedish premium rate
        "+44 909 879 0000",  # British premium rate
        "+4915123456789",  # a German mobile: not the jurisdiction's
        "08-123 45 67",  # a Stockholm landline
    ],
)
def test_sms_goes_only_to_mobile_numbers_of_the_jurisdiction(bus: LocalBus, number: str) -> None:
    response = file_json(bus, phone=number, notify_by="sms", consent="on")
    assert response.status == 400, response.text
    assert "phone" in [e["field"] for e in response.json()["errors"]]
    browser = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        headers={**FORM, "Accept": "text/html"},
        body=urlencode(
            {"address": "Storgatan 1", "phone": number, "notify_by": "sms", "consent": "on"}
        ),
    )
    assert browser.status == 400 and 'id="field-phone-error"' in browser.text
    assert nothing_stored()
    prefs = {"notify_by": "sms", "phone": number, "consent": True}
    answer = bus.request("PUT", "/app/v1/me/preferences", headers=auth("bo"), json_body=prefs)
    assert answer.status == 400 and answer.json()["errors"][0]["field"] == "phone"
    assert count_items("citizens") == 0


@pytest.mark.parametrize("notify_by", ["email", "sms"])
def test_notifications_without_consent_are_refused_not_dropped(
    bus: LocalBus, notify_by: str
) -> None:
    contact = {"email": "anna@example.se", "phone": VICTIM}
    response = file_json(bus, notify_by=notify_by, **contact)
    assert response.status == 400
    assert [e["field"] for e in response.json()["errors"]] == ["consent"]
    form = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        headers=FORM,
        body=urlencode({"address": "Storgatan 1", "notify_by": notify_by, **contact}),
    )
    assert form.status == 400 and form.json()["errors"][0]["field"] == "consent"
    assert nothing_stored()
    for yes in (True, "true", "on", "1"):
        assert file_json(bus, notify_by=notify_by, consent=yes, **contact).status == 201


def test_app_preferences_take_no_unproven_contact(bus: LocalBus) -> None:
    """A number typed into the app's preferences is not taken (409 naming ``phone``) and is
    sent nothing; once the citizen linked it with a code sent there, updates go to it."""
    prefs = {"notify_by": "sms", "phone": VICTIM, "consent": True}
    refused = bus.request("PUT", "/app/v1/me/preferences", headers=auth("bo"), json_body=prefs)
    assert refused.status == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "phone"
    email = {"notify_by": "email", "email": "victim@example.se", "consent": True}
    refused = bus.request("PUT", "/app/v1/me/preferences", headers=auth("bo"), json_body=email)
    assert refused.status == 409 and refused.json()["errors"][0]["field"] == "email"
    bus.pump()
    assert outbox(bus) == []

    link(bus, "bo", phone=VICTIM)
    codes = len(outbox(bus))
    saved = bus.request("PUT", "/app/v1/me/preferences", headers=auth("bo"), json_body=prefs)
    assert saved.status == 200, saved.text
    filed = bus.request(
        "POST",
        "/app/v1/requests",
        headers=auth("bo"),
        json_body={"service_code": "missed-waste-collection", "attributes": {"address": "Väg 2"}},
    ).json()
    change_status(bus, filed["reference"], "in_progress", agency="waste")
    change_status(bus, filed["reference"], "resolved", agency="waste")
    bus.pump()
    updates = outbox(bus)[codes:]  # proven by the code: no confirmation first
    assert [m["to"] for m in updates] == [VICTIM, VICTIM, VICTIM]  # in progress, done, verdict
    assert not any("Svara JA" in m["body"] for m in updates)
    assert "klart" in updates[-2]["body"] and "siffra" in updates[-1]["body"]

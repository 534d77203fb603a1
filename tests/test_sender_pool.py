"""The Twilio sender pool: with a Messaging Service SID (stack parameter
``TwilioMessagingServiceSid``) the notifier texts through the pool, so Twilio spreads a deadline
day's texts over its senders; without one it texts from the one number, as before."""

from __future__ import annotations

import pytest

from citizenbus.local.runtime import LocalBus

POOL = "MG" + "0123456789abcdef" * 2


def texts_after_filing(bus: LocalBus) -> list[dict[str, object]]:
    response = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={
            "address": "Storgatan 1",
            "phone": "0701234567",
            "notify_by": "sms",
            "consent": True,
        },
    )
    assert response.status == 201, response.text
    bus.pump()
    sent: list[dict[str, object]] = list(bus.twilio.sent)
    assert sent, "the notifier sent no text"
    return sent


def test_with_a_messaging_service_texts_go_through_the_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", POOL)
    with LocalBus() as bus:
        sent = texts_after_filing(bus)
    # What Twilio would get: MessagingServiceSid, and no From (Twilio picks the pool's sender)
    assert [m["messaging_service_sid"] for m in sent] == [POOL] * len(sent)
    assert [m["from"] for m in sent] == [None] * len(sent)
    assert {m["to"] for m in sent} == {"+46701234567"}


def test_without_one_texts_come_from_the_one_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_MESSAGING_SERVICE_SID", raising=False)
    with LocalBus() as bus:
        sent = texts_after_filing(bus)
    assert [m["messaging_service_sid"] for m in sent] == [None] * len(sent)
    assert all(str(m["from"]).startswith("+") for m in sent)

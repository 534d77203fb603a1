"""``POST /channels/sms/status``: Twilio's delivery status callbacks for what the bus sent."""

from __future__ import annotations

from citizenbus.local.phone import twilio_request
from citizenbus.local.runtime import LocalBus
from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.store import CitizenStore
from tests.support.bus import load_event

ANNA = "+46701234567"


def callback(bus: LocalBus, name: str, **changes: str) -> int:
    sample = load_event(f"twilio/{name}")
    params = dict(sample["params"]) | changes
    response = twilio_request(bus, sample["path"], params)
    assert response.headers["Content-Type"].startswith("application/xml")
    return response.status


def test_delivery_statuses_are_recorded_and_never_move_backwards(bus: LocalBus) -> None:
    sample = load_event("twilio/sms_status_delivered.json")["params"]
    sid = sample["MessageSid"]
    assert callback(bus, "sms_status_delivered.json", MessageStatus="sent", SmsStatus="sent") == 200
    store = CitizenStore()
    assert store.message_status(sid)["status"] == "sent"
    assert callback(bus, "sms_status_delivered.json") == 200
    # A late "sent" after "delivered" (Twilio does not promise order) changes nothing.
    assert callback(bus, "sms_status_delivered.json", MessageStatus="sent", SmsStatus="sent") == 200
    status = store.message_status(sid)
    assert status["status"] == "delivered"
    assert {"at_sent", "at_delivered"} <= set(status)
    assert status["citizen"] == pseudonym("phone", ANNA)
    assert ANNA not in str(status)


def test_an_unsubscribed_recipient_is_opted_out_once(bus: LocalBus) -> None:
    citizen = pseudonym("phone", ANNA)
    store = CitizenStore()
    assert callback(bus, "sms_status_undelivered_unsubscribed.json") == 200
    assert callback(bus, "sms_status_undelivered_unsubscribed.json") == 200
    sid = load_event("twilio/sms_status_undelivered_unsubscribed.json")["params"]["MessageSid"]
    assert store.message_status(sid)["error_code"] == "21610"
    assert store.consent(citizen, "sms") is False
    assert [e["source"] for e in store.consent_ledger(citizen, "sms")] == ["twilio:21610"]


def test_a_callback_without_a_message_sid_or_status_is_refused(bus: LocalBus) -> None:
    assert callback(bus, "sms_status_delivered.json", MessageSid="", SmsSid="") == 400
    assert callback(bus, "sms_status_delivered.json", MessageStatus="", SmsStatus="") == 400
    assert callback(bus, "sms_status_delivered.json", MessageStatus="DROP TABLE") == 400

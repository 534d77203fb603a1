"""Whole SMS journeys through ``POST /channels/sms``, driven step by step like Twilio does."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import boto3
import pytest

from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import HttpResponse, LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.store import CitizenStore
from tests.support.bus import count_items, load_event, nothing_stored

ANNA = "+46701234567"
BERIT = "+46702222222"


def sms(bus: LocalBus, body: str, sender: str = ANNA, sid: str | None = None) -> HttpResponse:
    response = twilio_request(bus, "/channels/sms", sms_params(sender, body, sid))
    return response


def reply(bus: LocalBus, body: str, sender: str = ANNA, sid: str | None = None) -> str:
    response = sms(bus, body, sender, sid)
    assert response.status == 200, response.text
    assert response.headers["Content-Type"].startswith("application/xml")
    messages = [m.text or "" for m in ET.fromstring(response.body).iter("Message")]
    assert len(messages) == 1
    return messages[0]


def reference_in(text: str) -> str:
    match = re.search(r"\b(\d{10})\b", text)
    assert match, text
    return match.group(1)


def stored(reference: str) -> dict:
    return boto3.client("dynamodb").get_item(
        TableName="citizenbus-requests", Key={"reference": {"S": reference}}
    )["Item"]


def test_the_sample_inbound_sms_files_a_street_damage_report(bus: LocalBus) -> None:
    sample = load_event("twilio/sms_inbound.json")
    response = twilio_request(bus, sample["path"], sample["params"])
    assert response.status == 200
    text = ET.fromstring(response.body).find("Message").text or ""
    assert text.startswith("Tack!") and "Skada på gata" in text  # GATA is Swedish
    item = stored(reference_in(text))
    assert item["channel"] == {"S": "sms"}
    assert item["attributes"]["M"] == {
        "address": {"S": "Storgatan 1"},
        "description": {"S": "deep hole"},
    }
    assert item["contact"] == {"M": {"phone": {"S": ANNA}}}
    assert item["notify_by"] == {"S": "sms"} and item["language"] == {"S": "sv"}
    assert item["citizen"] == {"S": pseudonym("phone", ANNA)}


@pytest.mark.parametrize(
    ("body", "service", "agency", "language", "attributes", "personal"),
    [
        ("DEKL 12345678", "tax-return-approve", "tax", "sv", {}, {"personal_code": "12345678"}),
        ("tax 1234-5678", "tax-return-approve", "tax", "en", {}, {"personal_code": "12345678"}),
        (
            "GATA Storgatan 12B djupt hål vid busshållplatsen",
            "street-damage",
            "streets",
            "sv",
            {"address": "Storgatan 12B", "description": "djupt hål vid busshållplatsen"},
            {},
        ),
        (
            "Street Main Road 5, cracked asphalt",
            "street-damage",
            "streets",
            "en",
            {"address": "Main Road 5", "description": "cracked asphalt"},
            {},
        ),
        (
            # a missed collection's address is a home: personal, never in an event
            "SOPOR Sopvägen 2",
            "missed-waste-collection",
            "waste",
            "sv",
            {},
            {"address": "Sopvägen 2"},
        ),
        (
            "waste Dump Lane 7",
            "missed-waste-collection",
            "waste",
            "en",
            {},
            {"address": "Dump Lane 7"},
        ),
    ],
)
def test_each_service_is_filed_by_sms_and_reaches_its_agency_without_the_phone_number(
    bus: LocalBus,
    body: str,
    service: str,
    agency: str,
    language: str,
    attributes: dict,
    personal: dict,
) -> None:
    text = reply(bus, body)
    reference = reference_in(text)
    assert text.startswith("Tack!" if language == "sv" else "Thank you!")
    bus.pump()
    [message] = bus.queue_messages(agency_queue(agency))
    event = message["detail"]
    assert event["type"] == "org.citizenbus.request.submitted.v1"
    assert event["subject"] == reference
    data = event["data"]
    assert data["channel"] == "sms" and data["service_code"] == service
    assert data["attributes"] == attributes
    assert data["citizen"] == pseudonym("phone", ANNA)
    raw = json.dumps(message)
    assert "701234567" not in raw
    for value in personal.values():
        assert value not in raw
    item = stored(reference)
    assert {k: v["S"] for k, v in item["personal"]["M"].items()} == personal


def test_a_missing_field_is_asked_for_and_the_next_text_answers_it(bus: LocalBus) -> None:
    question = reply(bus, "GATA")
    assert "Adress?" in question and "15 min" in question
    assert nothing_stored()
    text = reply(bus, "Storgatan 1 stort hål")
    reference = reference_in(text)
    assert stored(reference)["attributes"]["M"] == {
        "address": {"S": "Storgatan 1"},
        "description": {"S": "stort hål"},
    }
    # The conversation is over: the same text now answers nothing; read afresh as free text,
    # it gets a question (in its own language) and files nothing without a yes.
    assert reply(bus, "Storgatan 1 stort hål") == (
        "Skada på gata, Storgatan 1? Svara JA så skickar vi in det."
    )
    assert count_items("requests") == 1


def test_an_invalid_code_says_what_is_wrong_keeps_asking_and_files_nothing(bus: LocalBus) -> None:
    text = reply(bus, "DEKL 1234567")
    assert "exakt 8 siffror" in text and "Personlig kod?" in text
    assert nothing_stored()
    again = reply(bus, "abc")
    assert "exakt 8 siffror" in again
    assert nothing_stored()
    filed = reply(bus, "87654321")
    assert stored(reference_in(filed))["personal"]["M"] == {"personal_code": {"S": "87654321"}}


def test_a_new_keyword_or_command_abandons_the_question(bus: LocalBus) -> None:
    assert "Adress?" in reply(bus, "SOPOR")
    assert reply(bus, "HELP").startswith("Demo Municipality by SMS")
    assert "Adress?" not in reply(bus, "STATUS")  # STATUS clears it
    assert reply(bus, "Sopvägen 2").startswith("Sorry")
    assert nothing_stored()


def test_conversations_are_per_number(bus: LocalBus) -> None:
    reply(bus, "GATA", sender=ANNA)
    assert reply(bus, "Storgatan 1", sender=BERIT).startswith("Sorry")
    assert reference_in(reply(bus, "Storgatan 1", sender=ANNA))


def test_an_expired_conversation_is_forgotten(bus: LocalBus) -> None:
    reply(bus, "GATA")
    citizen = pseudonym("phone", ANNA)
    store = CitizenStore()
    state = store.get_conversation(citizen)
    assert state and state["awaiting"] == "address"
    store.save_conversation(citizen, state, ttl_seconds=-1)
    assert reply(bus, "Storgatan 1").startswith("Det förstod vi inte")  # GATA: Swedish
    assert nothing_stored()


def test_a_twilio_retry_gets_the_same_reply_and_files_once(bus: LocalBus) -> None:
    sid = "SM" + "a" * 32
    first = reply(bus, "GATA Storgatan 1", sid=sid)
    second = reply(bus, "GATA Storgatan 1", sid=sid)
    assert first == second
    assert count_items("requests") == 1 and count_items("outbox") == 1
    # A retried answer in a conversation too: the conversation is gone after the first.
    reply(bus, "SOPOR")
    answer_sid = "SM" + "b" * 32
    filed = reply(bus, "Sopvägen 2", sid=answer_sid)
    assert reply(bus, "Sopvägen 2", sid=answer_sid) == filed
    assert count_items("requests") == 2
    bus.pump()
    assert len(bus.queue_messages(agency_queue("streets"))) == 1


def test_status_shows_only_the_senders_own_requests(bus: LocalBus) -> None:
    reference = reference_in(reply(bus, "STREET Storgatan 1"))
    mine = reply(bus, f"STATUS {reference}")  # in English: the keyword was English
    assert mine.startswith(f"Request {reference} (Street damage): received.")
    assert "Expected by" in mine
    theirs = reply(bus, f"status {reference}", sender=BERIT)  # a stranger: the default, Swedish
    assert theirs == f"Vi hittar inget ärende {reference} från ditt nummer."
    assert "Skada på gata" not in theirs
    assert "not a reference" in reply(bus, "STATUS 12345")
    listing = reply(bus, "STATUS")
    assert listing == f"Your latest requests: {reference} Street damage: received"
    assert reply(bus, "STATUS", sender=BERIT) == "Du har inga ärenden från det här numret."
    assert reply(bus, reference) == mine  # a bare reference is a status question


def test_help_in_both_languages_lists_every_service_keyword(bus: LocalBus) -> None:
    english = reply(bus, "help")
    swedish = reply(bus, "Hjälp")
    info = reply(bus, "INFO")
    assert info == english
    for keyword in ("TAX", "STREET", "WASTE", "STATUS", "STOP", "START"):
        assert keyword in english
    for keyword in ("DEKL", "GATA", "SOPOR", "STATUS"):
        assert keyword in swedish
    assert "Skada på gata" in swedish and "Street damage" in english
    assert nothing_stored()


def test_stop_and_start_are_recorded_in_the_consent_ledger(bus: LocalBus) -> None:
    citizen = pseudonym("phone", ANNA)
    store = CitizenStore()
    assert store.consent(citizen, "sms") is None
    assert "no more texts" in reply(bus, "STOP")
    assert store.consent(citizen, "sms") is False
    # Filed while opted out: the request records no consent to notifications.
    opted_out = reference_in(reply(bus, "GATA Storgatan 1"))
    assert stored(opted_out)["consent"] == {"BOOL": False}
    assert "again" in reply(bus, "start")
    assert store.consent(citizen, "sms") is True
    opted_in = reference_in(reply(bus, "GATA Storgatan 2"))
    assert stored(opted_in)["consent"] == {"BOOL": True}
    ledger = store.consent_ledger(citizen, "sms")
    assert [(e["opted_in"], e["source"]) for e in ledger] == [
        (False, "sms:STOP"),
        (True, "sms:START"),
    ]
    assert "Du får inga fler sms" in reply(bus, "STOPP")  # Swedish opt-out word
    # Twilio's Advanced Opt-Out tells us the type even for words we do not know.
    params = sms_params(ANNA, "Nej tack") | {"OptOutType": "START"}
    assert twilio_request(bus, "/channels/sms", params).status == 200
    assert store.consent(citizen, "sms") is True
    raw = json.dumps(ledger)
    assert ANNA not in raw and "701234567" not in raw


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", "Sorry, we did not get that"),
        ("   ", "Sorry, we did not get that"),
        ("Hello, is anyone there?", "Sorry, we did not get that"),
        ("DEKL 1234567", "exakt 8 siffror"),
        ("TAX 1234567", "exactly 8 digits"),
        ("x" * 2000, "Sorry, we did not get that"),
        ("GATA " + "Storgatan " * 200, "3 till 200 tecken"),
        ("🕳️🕳️🕳️", "Sorry, we did not get that"),
        ("GATA 🕳️🕳️", "Adress?"),
        ("STREET 😡😡😡😡", "Address?"),
    ],
)
def test_bad_input_gets_a_helpful_reply_and_files_nothing(
    bus: LocalBus, body: str, expected: str
) -> None:
    text = reply(bus, body)
    assert expected in text
    assert nothing_stored()


def test_emoji_in_a_good_report_are_dropped_not_stored(bus: LocalBus) -> None:
    text = reply(bus, "GATA Storgatan 1 🕳️ djupt hål 😡")
    item = stored(reference_in(text))
    assert item["attributes"]["M"]["description"] == {"S": "djupt hål"}


def test_a_missing_or_unusable_from_number_gets_a_reply_and_stores_nothing(
    bus: LocalBus,
) -> None:
    for sender in ("", "anonymous", "CITYBUS", "+4612"):
        params = sms_params(sender, "GATA Storgatan 1")
        if not sender:
            params.pop("From")
        response = twilio_request(bus, "/channels/sms", params)
        assert response.status == 400
        text = ET.fromstring(response.body).find("Message").text or ""
        assert "which number" in text
    assert nothing_stored() and count_items("citizens") == 0


def test_a_missing_message_sid_is_refused(bus: LocalBus) -> None:
    params = sms_params(ANNA, "GATA Storgatan 1")
    for key in ("MessageSid", "SmsMessageSid", "SmsSid"):
        params.pop(key)
    assert twilio_request(bus, "/channels/sms", params).status == 400
    assert nothing_stored()

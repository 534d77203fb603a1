"""One SMS turn in one read and one write: what Twilio's retries and a "me too" cost and answer.

The SMS webhook answers before Twilio times out (and retries), so its AWS calls are counted
here on the function's own DynamoDB client: a keyword filing and a "me too" make at most two
(the "me too" index query and the filing's transaction), and a retry of the same
``MessageSid`` answers exactly what the first delivery answered, files nothing more and is
never read as the answer to the question its first delivery asked.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import HttpResponse, LocalBus
from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.store import CitizenStore
from functions.platform import aws
from functions.sms.replies import Turn
from tests.support.bus import count_items, nothing_stored

ANNA = "+46701234567"
BERIT = "+46702222222"
CECILIA = "+46703333333"


def sid(letter: str) -> str:
    return "SM" + letter * 32


def sms(bus: LocalBus, body: str, sender: str = ANNA, message_sid: str | None = None) -> str:
    response: HttpResponse = twilio_request(
        bus, "/channels/sms", sms_params(sender, body, message_sid)
    )
    assert response.status == 200, response.text
    return response.text


def message(twiml: str) -> str:
    found = re.search(r"<Message>(.*)</Message>", twiml, re.DOTALL)
    assert found, twiml
    return found.group(1)


@contextmanager
def dynamodb_calls(bus: LocalBus) -> Iterator[Counter[str]]:
    """The DynamoDB operations the ``sms`` function makes inside the block."""
    made: Counter[str] = Counter()
    with bus.sandbox("sms"):  # the function's own (cached) client
        client = aws.client("dynamodb")

    def count(model: Any, **_: Any) -> None:
        made[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield made
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)


def requests_at(address: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName="citizenbus-requests")["Items"]
    return [i for i in items if i["attributes"]["M"]["address"]["S"] == address]


def test_a_keyword_filing_makes_two_calls_and_its_retry_answers_the_same_twiml(
    bus: LocalBus,
) -> None:
    sms(bus, "HJÄLP")  # warm: the function's client exists, secrets are read
    with dynamodb_calls(bus) as made:
        first = sms(bus, "GATA Storgatan 3 hål i vägen", message_sid=sid("a"))
    assert "Tack!" in first
    assert sum(made.values()) <= 2, made
    assert set(made) <= {"Query", "TransactWriteItems"}
    again = sms(bus, "GATA Storgatan 3 hål i vägen", message_sid=sid("a"))
    assert again == first  # the whole TwiML, byte for byte
    assert len(requests_at("Storgatan 3")) == 1 and count_items("outbox") == 1


def test_a_retried_yes_that_asked_for_the_address_is_not_read_as_the_address(
    bus: LocalBus,
) -> None:
    question = message(sms(bus, "soptunnan har inte tömts"))
    assert question.startswith("Missad sophämtning?")
    asked = sms(bus, "JA", message_sid=sid("b"))  # this turn starts the address question
    assert "Adress?" in message(asked)
    # Twilio sends the same JA again: without the kept reply, "JA" would answer the address
    # question it asked itself and file a request at the address "JA".
    assert sms(bus, "JA", message_sid=sid("b")) == asked
    assert nothing_stored()
    filed = message(sms(bus, "Sopvägen 3", message_sid=sid("c")))
    assert filed.startswith("Tack!")
    assert count_items("requests") == 1


def test_a_retried_answer_that_filed_answers_the_same_and_files_once(bus: LocalBus) -> None:
    sms(bus, "SOPOR")  # asks for the address
    first = sms(bus, "Sopvägen 4", message_sid=sid("d"))
    assert "Tack!" in message(first)
    with dynamodb_calls(bus) as made:
        again = sms(bus, "Sopvägen 4", message_sid=sid("d"))
    assert again == first
    assert made == Counter({"BatchGetItem": 1})  # the kept reply, nothing else
    assert count_items("requests") == 1 and count_items("outbox") == 1


def test_a_me_too_by_sms_makes_two_calls_and_counts_once(bus: LocalBus) -> None:
    original = message(sms(bus, "GATA Storgatan 9 djupt hål", sender=ANNA))
    reference = re.search(r"\d{10}", original)
    assert reference
    sms(bus, "HJÄLP", sender=BERIT)  # warm
    with dynamodb_calls(bus) as made:
        twiml = sms(bus, "GATA Storgatan 9", sender=BERIT, message_sid=sid("e"))
    assert "redan anmält" in message(twiml) and reference.group(0) in message(twiml)
    assert sum(made.values()) <= 2, made
    assert set(made) <= {"Query", "TransactWriteItems"}
    # Twilio's retry: the same answer, and Berit is still counted once.
    assert sms(bus, "GATA Storgatan 9", sender=BERIT, message_sid=sid("e")) == twiml
    stored = boto3.client("dynamodb").get_item(
        TableName="citizenbus-requests", Key={"reference": {"S": reference.group(0)}}
    )["Item"]
    assert stored["supporters"] == {"N": "1"}
    assert len(requests_at("Storgatan 9")) == 1


def test_a_keyword_filing_after_stop_records_no_consent_without_reading_it_first(
    bus: LocalBus,
) -> None:
    sms(bus, "STOP", sender=CECILIA)
    filed = message(sms(bus, "GATA Storgatan 11", sender=CECILIA))
    assert filed.startswith("Tack!")
    (item,) = requests_at("Storgatan 11")
    assert item["consent"] == {"BOOL": False}
    # The turn's other writes happened once, with the filing written again without consent.
    citizen = pseudonym("phone", CECILIA)
    language = boto3.client("dynamodb").get_item(
        TableName="citizenbus-citizens",
        Key={"pk": {"S": citizen}, "sk": {"S": "language"}},
    )
    assert language["Item"]["language"] == {"S": "sv"}


def test_a_conversation_expires(bus: LocalBus, monkeypatch: pytest.MonkeyPatch) -> None:
    sms(bus, "SOPOR")  # asks for the address, kept 15 minutes
    later = time.time() + 16 * 60
    monkeypatch.setattr("functions.domain.citizens.store.time.time", lambda: later)
    # Read afresh: an address alone, out of any conversation, files nothing.
    assert not message(sms(bus, "Sopvägen 5")).startswith("Tack!")
    assert count_items("requests") == 0


def test_two_deliveries_racing_write_once_and_answer_the_first_reply(bus: LocalBus) -> None:
    with bus.sandbox("sms"):
        citizens = CitizenStore()
        citizen = pseudonym("phone", ANNA)
        first, second = Turn(citizen, sid("f"), citizens), Turn(citizen, sid("f"), citizens)
        assert first.load() is None and second.load() is None  # both read before either wrote
        first.writes.append(citizens.conversation_put(citizen, {"awaiting": "address"}))
        second.writes.append(citizens.conversation_put(citizen, {"awaiting": "description"}))
        assert first.finish("Adress?") == "Adress?"
        assert second.finish("Beskrivning?") == "Adress?"  # the reply the first one kept
        assert citizens.get_conversation(citizen) == {"awaiting": "address"}  # written once
        assert Turn(citizen, sid("f"), citizens).load() == "Adress?"


def test_a_me_too_after_stop_follows_without_consent(bus: LocalBus) -> None:
    original = message(sms(bus, "GATA Storgatan 13", sender=ANNA))
    reference = re.search(r"\d{10}", original)
    assert reference
    sms(bus, "STOP", sender=CECILIA)
    assert "redan anmält" in message(sms(bus, "GATA Storgatan 13", sender=CECILIA))
    follower = boto3.client("dynamodb").get_item(
        TableName="citizenbus-citizens",
        Key={
            "pk": {"S": f"follow#{reference.group(0)}"},
            "sk": {"S": pseudonym("phone", CECILIA)},
        },
    )["Item"]
    assert follower["consent"] == {"BOOL": False}
    assert len(requests_at("Storgatan 13")) == 1

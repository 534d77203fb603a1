"""The citizen's verdict: ONE question after ``resolved`` on their channel, only with consent,
at most once per request; answered by a digit by SMS, a one-tap e-mail link or the app; kept
without personal data; a 1 or 2 is offered the reopening."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.verdicts import questions
from functions.platform import clock
from tests.support.bus import agency_sets
from tests.support.contacts import confirmed, outbox, text_bus
from tests.support.tokens import auth

ANNA = "+46701234567"


def filed_by_sms(bus: LocalBus, phone: str = ANNA, body: str = "GATA Storgatan 1 hål") -> str:
    found = re.search(r"\b(\d{10})\b", text_bus(bus, phone, body))
    assert found
    return found.group(1)


def verdicts() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName="citizenbus-verdicts")["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def test_sms_asks_once_and_a_digit_answers(bus: LocalBus) -> None:
    reference = filed_by_sms(bus)
    agency_sets(bus, reference, "in_progress", "resolved", pump=True)
    sent = outbox(bus)
    assert "är klart" in sent[-2]["body"]
    assert "Svara med en siffra från 1" in sent[-1]["body"] and reference in sent[-1]["body"]
    assert sent[-1]["to"] == ANNA
    reply = text_bus(bus, ANNA, "4")
    assert "Tack för ditt svar" in reply
    [kept] = verdicts()
    # Kept without personal data: no citizen id, no contact, no text.
    assert kept["score"] == "4" and kept["reference"] == reference
    assert set(kept) == {
        "reference",
        "service_code",
        "agency",
        "channel",
        "asked_via",
        "asked_at",
        "month",
        "submitted_month",
        "expires_at",
        "score",
        "answered_at",
        "answered_via",
    }
    assert kept["answered_via"] == "sms" and kept["channel"] == "sms"
    # A second digit is no second answer (it is read as any other text: the help).
    assert "Tack för ditt svar" not in text_bus(bus, ANNA, "5")
    assert verdicts()[0]["score"] == "4"
    # Reopened and resolved again: not asked again (once per request).
    before = len(outbox(bus))
    text_bus(bus, ANNA, f"ÖPPNA {reference} kvar")
    agency_sets(bus, reference, "in_progress", "resolved", pump=True)
    after = outbox(bus)[before:]
    assert len(after) == 2  # "in progress" and "resolved", no question
    assert not any("siffra" in m["body"] for m in after)


def test_a_low_score_offers_to_reopen(bus: LocalBus) -> None:
    reference = filed_by_sms(bus)
    agency_sets(bus, reference, "in_progress", "resolved", pump=True)
    reply = text_bus(bus, ANNA, "2")
    assert f"ÖPPNA {reference}" in reply
    assert "öppnat igen" in text_bus(bus, ANNA, f"ÖPPNA {reference} hålet är kvar")


def test_a_digit_answers_a_field_question_first(bus: LocalBus) -> None:
    reference = filed_by_sms(bus)
    agency_sets(bus, reference, "in_progress", "resolved", pump=True)
    # A conversation waiting for a field: the digit is the field's answer, not the verdict.
    asked = text_bus(bus, ANNA, "DEKL")
    assert "personlig" in asked.lower() or "kod" in asked.lower()
    text_bus(bus, ANNA, "3")
    assert "score" not in verdicts()[0]


def test_no_consent_no_question(bus: LocalBus) -> None:
    reference = filed_by_sms(bus)
    text_bus(bus, ANNA, "STOPP")
    agency_sets(bus, reference, "in_progress", "resolved", pump=True)
    assert not [m for m in outbox(bus) if "siffra" in m["body"]]
    assert verdicts() == []
    # Nothing asked: a digit is just text.
    assert "Tack" not in text_bus(bus, ANNA, "5")


def test_a_form_without_notifications_is_not_asked(bus: LocalBus) -> None:
    confirmed(email="anna@example.se")
    filed = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={"address": "Storgatan 1", "email": "anna@example.se", "notify_by": "none"},
    )
    agency_sets(bus, str(filed.json()["reference"]), "in_progress", "resolved", pump=True)
    assert outbox(bus) == [] and verdicts() == []


def _email_links(bus: LocalBus) -> dict[int, str]:
    [mail] = [m for m in outbox(bus) if "/verdict/" in m["body"]]
    assert mail["channel"] == "email"
    found = re.findall(
        r"([1-5]): https?://[^/\s]+(/(?:en/)?verdict/[^\s?]+\?score=\d)", mail["body"]
    )
    return {int(n): path for n, path in found}


def test_email_one_tap_link_single_use_and_not_guessable(bus: LocalBus) -> None:
    confirmed(email="anna@example.se")
    filed = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={
            "address": "Storgatan 1",
            "email": "anna@example.se",
            "notify_by": "email",
            "consent": "on",
            "language": "en",
        },
    )
    reference = str(filed.json()["reference"])
    agency_sets(bus, reference, "in_progress", "resolved", pump=True)
    links = _email_links(bus)
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert all(path.startswith("/en/verdict/") for path in links.values())
    # A forged token (another reference, or a changed signature) answers nothing.
    token = links[5].split("/verdict/")[1].split("?")[0]
    ref, ends, signature = token.split(".")
    other = questions.token(reference, int(ends)).split(".")[2]
    assert other == signature  # the bus's own signature
    forged = f"/en/verdict/{ref}.{int(ends) + 1}.{signature}?score=5"
    assert bus.request("GET", forged).status == 404
    assert bus.request("GET", f"/en/verdict/{ref}.{ends}.{'0' * 32}?score=5").status == 404
    page = bus.request("GET", links[5])
    assert (
        page.status == 200
        and "Thank you for your answer" in page.text
        and "5 out of 5" in page.text
    )
    # Single use: the same link, or another score, changes nothing.
    assert bus.request("GET", links[5]).status == 404
    assert bus.request("GET", links[1]).status == 404
    [kept] = verdicts()
    assert kept["score"] == "5" and kept["answered_via"] == "email" and kept["asked_via"] == "email"


def test_email_link_low_score_and_expiry(bus: LocalBus, monkeypatch: pytest.MonkeyPatch) -> None:
    confirmed(email="anna@example.se")
    for n in range(2):
        filed = bus.request(
            "POST",
            "/eservice/v1/forms/street-damage",
            json_body={
                "address": f"Storgatan {n + 1}",
                "email": "anna@example.se",
                "notify_by": "email",
                "consent": "on",
            },
        )
        agency_sets(bus, str(filed.json()["reference"]), "in_progress", "resolved", pump=True)
    mails = [m for m in outbox(bus) if "/verdict/" in m["body"]]
    first = re.search(r"1: https?://[^/\s]+(/verdict/\S+)", mails[0]["body"]).group(1)
    page = bus.request("GET", first)
    assert page.status == 200 and "öppna det igen" in page.text
    second = re.search(r"3: https?://[^/\s]+(/verdict/\S+)", mails[1]["body"]).group(1)
    later = (clock.now() + timedelta(days=questions.QUESTION_DAYS + 1)).timestamp()
    monkeypatch.setattr(time, "time", lambda: later)
    assert bus.request("GET", second).status == 404  # expired


def test_app_shows_the_question_and_takes_the_answer(bus: LocalBus) -> None:
    filed = bus.request(
        "POST",
        "/app/v1/requests",
        headers=auth("anna"),
        json_body={"service_code": "street-damage", "attributes": {"address": "Storgatan 3"}},
    )
    reference = str(filed.json()["reference"])
    path = f"/app/v1/requests/{reference}"
    assert "verdict_asked" not in bus.request("GET", path, headers=auth("anna")).json()
    early = bus.request("POST", path + "/verdict", headers=auth("anna"), json_body={"score": 3})
    assert early.status == 409  # nothing asked yet
    agency_sets(bus, reference, "in_progress", "resolved", pump=True)
    assert bus.request("GET", path, headers=auth("anna")).json()["verdict_asked"] is True
    assert (
        bus.request("POST", path + "/verdict", headers=auth("bob"), json_body={"score": 3}).status
        == 404
    )
    bad = bus.request("POST", path + "/verdict", headers=auth("anna"), json_body={"score": 9})
    assert bad.status == 400
    answer = bus.request("POST", path + "/verdict", headers=auth("anna"), json_body={"score": 1})
    assert answer.status == 200 and answer.json()["reopen_offered"] is True
    again = bus.request("POST", path + "/verdict", headers=auth("anna"), json_body={"score": 5})
    assert again.status == 409
    assert "verdict_asked" not in bus.request("GET", path, headers=auth("anna")).json()
    assert verdicts()[0]["score"] == "1" and verdicts()[0]["asked_via"] == "app"

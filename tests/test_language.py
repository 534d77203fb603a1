"""The citizen's language, remembered (issue 17): the keyword's language, else the one the
citizen last used with the bus on any channel (their linked contacts included), else the
default (Swedish); used for SMS replies and notifications alike."""

from __future__ import annotations

import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.citizens import language
from functions.platform import texts
from tests.support.contacts import link, outbox, text_bus
from tests.support.tokens import auth
from tests.support.twilio import ANNA, Call

AGENCY = {"Authorization": "Bearer local-streets-key"}


def reference_in(text: str) -> str:
    import re

    found = re.search(r"\b(\d{8,12})\b", text)
    assert found, text
    return found.group(1)


def test_status_after_gata_answers_in_swedish(bus: LocalBus) -> None:
    reference = reference_in(text_bus(bus, ANNA, "GATA Storgatan 1 djupt hål"))
    answer = text_bus(bus, ANNA, f"STATUS {reference}")
    assert f"Ärende {reference} (Skada på gata): mottaget." in answer
    assert "Dina senaste ärenden" in text_bus(bus, ANNA, "STATUS")


def test_the_last_keyword_used_wins(bus: LocalBus) -> None:
    reference = reference_in(text_bus(bus, ANNA, "GATA Storgatan 1"))
    text_bus(bus, ANNA, "HELP")
    assert f"Request {reference} (Street damage): received." in text_bus(
        bus, ANNA, f"STATUS {reference}"
    )
    text_bus(bus, ANNA, "HJÄLP")
    assert "Ärende" in text_bus(bus, ANNA, f"STATUS {reference}")


def test_the_phone_menus_choice_is_remembered_for_sms(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("2")  # English
    assert "You have no requests" in text_bus(bus, ANNA, "STATUS")


def test_the_web_pages_language_is_remembered_for_sms(bus: LocalBus) -> None:
    body = {"address": "Storgatan 1", "phone": ANNA, "notify_by": "none", "language": "en"}
    filed = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)
    assert filed.status == 201, filed.text
    assert "Your latest requests" in text_bus(bus, ANNA, "STATUS")


def test_the_apps_language_reaches_the_linked_phone_and_back(bus: LocalBus) -> None:
    link(bus, "anna", phone=ANNA)
    prefs = {"notify_by": "none", "consent": False, "language": "en"}
    saved = bus.request("PUT", "/app/v1/me/preferences", headers=auth("anna"), json_body=prefs)
    assert saved.status == 200, saved.text
    assert "You have no requests" in text_bus(bus, ANNA, "STATUS")
    text_bus(bus, ANNA, "HELP")  # by SMS now; the app names no language when it files
    street = {"service_code": "street-damage", "attributes": {"address": "Appvägen 3"}}
    filed = bus.request("POST", "/app/v1/requests", headers=auth("anna"), json_body=street)
    assert filed.status == 201
    from functions.domain.citizens import links
    from functions.domain.citizens.store import CitizenStore
    from functions.domain.requests.store import RequestStore

    record = RequestStore().get(filed.json()["reference"])
    assert record is not None and record.get("language_implied") is True
    store = CitizenStore()
    ids = links.identities(record["citizen"], store)
    assert language.last_used(ids, store, [record]) == "en"  # what its notifications use


def test_accept_language_names_the_apps_language(bus: LocalBus) -> None:
    street = {"service_code": "street-damage", "attributes": {"address": "Appvägen 3"}}
    headers = auth("bo") | {"Accept-Language": "en-GB,en;q=0.9,sv;q=0.5"}
    filed = bus.request("POST", "/app/v1/requests", headers=headers, json_body=street)
    from functions.domain.requests.store import RequestStore

    record = RequestStore().get(filed.json()["reference"])
    assert record is not None and record["language"] == "en"


def test_notifications_follow_the_language_last_used(bus: LocalBus) -> None:
    """Filed on the English web page; the citizen then texts in Swedish: the update comes
    in Swedish."""
    body = {
        "address": "Storgatan 1",
        "phone": ANNA,
        "notify_by": "sms",
        "consent": True,
        "language": "en",
    }
    filed = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)
    reference = filed.json()["reference"]
    text_bus(bus, ANNA, "HJÄLP")  # texting proves the number, and Swedish is remembered
    bus.pump()
    before = len(outbox(bus))
    changed = bus.request(
        "POST",
        f"/agency/v1/requests/{reference}/status",
        headers=AGENCY,
        json_body={"status": "in_progress"},
    )
    assert changed.status == 200
    bus.pump()
    [update] = outbox(bus)[before:]
    assert update["to"] == ANNA and "handläggs" in update["body"]


def test_any_language_with_texts_is_chosen_without_code_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert language.choose(None, "fi") == "fi"
    assert language.choose("xx", None) == "sv"  # unknown codes fall through to the default
    assert language.from_accept_language("fi-FI, en;q=0.8") == "fi"
    assert language.from_accept_language("de-DE, en;q=0.3, sv;q=0.7") == "sv"
    assert language.from_accept_language("de, *;q=0.1") is None
    packs = texts.languages()
    monkeypatch.setattr(texts, "languages", lambda: (*packs, "de"))  # a pack added as data
    assert language.choose(None, "de") == "de"
    assert language.from_accept_language("de-DE, en;q=0.3, sv;q=0.7") == "de"

"""Every SMS reply stays GSM-7 (no UCS-2) and within its segment budget."""

from __future__ import annotations

import pytest

from functions.platform.gsm import is_gsm7, segments, strip_symbols, to_gsm7
from functions.sms.dialogue import parse_into
from functions.sms.texts import ask, help_text, keys, text
from schemas.catalog import load_catalog

SAMPLE = {
    "service": "Missad sophämtning",
    "reference": "123456789012",
    "status": "vi behöver mer information",
    "date": "2026-12-06",
    "items": "1234567897 Skada på gata: mottaget",
    "jurisdiction": "Demokommunen",
    "name": "Personlig kod",
    "description": "Den personliga koden med 8 siffror från din deklaration.",
    "address": "Sopvägen 3",
    "days": "365",  # a service's reopen window
    "count": "3",
}


def test_gsm7_and_segment_counts() -> None:
    assert is_gsm7("Tack! Skada på gata är mottaget. Åäö ÅÄÖ é ü")
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension chars cost two
    assert not is_gsm7("smart ’quotes’") and segments("ł" * 70) == 1 and segments("ł" * 71) == 2
    assert to_gsm7("“Łódź” – 🕳️ ok…") == '"Lodz" -  ok...'
    assert strip_symbols("hål 🕳️👍🏽 här") == "hål  här"


@pytest.mark.parametrize("key", keys())
@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_template_is_gsm7_and_fits_one_or_two_segments(key: str, language: str) -> None:
    rendered = text(key, language, **SAMPLE)
    assert is_gsm7(rendered), rendered
    assert segments(rendered) <= (2 if key == "filed" else 1), (key, len(rendered))


@pytest.mark.parametrize("language", ["sv", "en"])
def test_catalog_driven_replies_are_gsm7_and_short(language: str) -> None:
    catalog = load_catalog()
    for unknown in (False, True):
        help_reply = help_text(catalog, language, unknown)
        assert is_gsm7(help_reply)
        assert segments(help_reply) <= 2, len(help_reply)
    for service in catalog.services:
        assert is_gsm7(service.name(language))
        for attr in service.attributes:
            question = ask(service, attr, language)
            assert is_gsm7(question) and is_gsm7(attr.error(language))
            assert segments(f"{attr.error(language)} {question}") <= 2


def test_filing_replies_measured() -> None:
    filed = text("filed", "sv", service="Missad sophämtning", reference="123456789012")
    assert segments(filed) == 1, len(filed)


@pytest.mark.parametrize(
    ("body", "address", "description"),
    [
        ("Storgatan 1 deep hole", "Storgatan 1", "deep hole"),
        ("Storgatan 12B hål i asfalten", "Storgatan 12B", "hål i asfalten"),
        ("Storgatan 12 B", "Storgatan 12 B", None),
        ("Storgatan 1-3, sprickor", "Storgatan 1-3", "sprickor"),
        ("Storgatan 4 Bad hole", "Storgatan 4", "Bad hole"),
        ("Storgatan", "Storgatan", None),
        ("Väg 222 mot Gustavsberg", "Väg 222", "mot Gustavsberg"),
    ],
)
def test_the_address_ends_at_the_first_house_number(
    body: str, address: str, description: str | None
) -> None:
    service = load_catalog().service("street-damage")
    attributes: dict[str, str] = {}
    assert parse_into(service, attributes, None, body) is None
    assert attributes.get("address") == address
    assert attributes.get("description") == description

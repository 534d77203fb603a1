"""Four languages as data (sv, en, fi, ar) on every channel, SMS segments in all of them, and a
fifth language added from a fixture with no code change."""

from __future__ import annotations

import json
import re
import shutil
import string
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citizenbus.local.outbox import collect
from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from functions.platform import texts
from functions.platform.gsm import is_gsm7, segments
from functions.sms.texts import for_sms, help_text
from functions.sms.texts import text as sms_text
from schemas.catalog import CATALOG_PATH, load_catalog
from tests.support.contacts import confirmed
from tests.support.twilio import Call

LANGUAGES = ("sv", "en", "fi", "ar")
FIXTURES = Path(__file__).parent / "support" / "languages"
ANNA = "+46701234567"
# The longest values a template is filled with (a 12-digit reference, the longest names).
SAMPLE = {
    "reference": "123456789012",
    "date": "2026-12-06",
    "expected_date": "2026-12-06",
    "code": "123456",
    "link": "https://demo.citizenbus.org/confirm/" + "x" * 43,
    "note_line": "",
    "note": "",
    "address": "Mannerheimintie 120B",
    "digit": "4",
    "value": "Storgatan 1",
    "days": "365",  # a service's reopen window
    "count": "3",
}


def sample(language: str) -> dict[str, str]:
    catalog = load_catalog()
    longest = max((s.name(language) for s in catalog.services), key=len)
    attr = max(
        (a for s in catalog.services for a in s.attributes), key=lambda a: len(a.name(language))
    )
    return SAMPLE | {
        "service": longest,
        "jurisdiction": catalog.jurisdiction.name(language),
        "agency": max((a.name(language) for a in catalog.agencies), key=len),
        "status": max(
            (texts.status_name(s, language) for s in texts.section("status", language)), key=len
        ),
        "items": f"1234567897 {longest}: {texts.status_name('received', language)}",
        "name": attr.name(language),
        "description": attr.description(language),
    }


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# -- the packs and the catalog ---------------------------------------------------------------
def test_four_languages_in_menu_order_with_their_own_names_and_direction() -> None:
    assert texts.languages() == LANGUAGES
    assert [texts.meta(c)["name"] for c in LANGUAGES] == ["Svenska", "English", "Suomi", "العربية"]
    assert [texts.rtl(c) for c in LANGUAGES] == [False, False, False, True]


@pytest.mark.parametrize("language", LANGUAGES[1:])
@pytest.mark.parametrize("section", texts.SECTIONS)
def test_every_pack_has_every_text_with_known_placeholders(language: str, section: str) -> None:
    default = texts.packs()["sv"][section]
    own = texts.packs()[language][section]
    assert set(own) == set(default), set(own) ^ set(default)
    for key, template in own.items():
        # A translation may leave a value out (the Arabic confirmation SMS names no service,
        # to fit two UCS-2 segments) but never asks for one the channel does not give.
        assert placeholders(template) <= placeholders(default[key]), (key, template)
        assert "reference" not in placeholders(default[key]) or "{reference}" in template


def test_the_catalog_names_every_thing_in_every_language() -> None:
    raw = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    found = 0

    def walk(node: Any) -> None:
        nonlocal found
        if isinstance(node, dict):
            if "sv" in node and isinstance(node["sv"], str):
                found += 1
                assert set(node) == set(LANGUAGES), node
                assert all(v.strip() for v in node.values()), node
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(raw)
    assert found > 20
    for service in load_catalog().services:
        assert {code for code, _ in service.terms.items()} == set(LANGUAGES)


def test_keywords_and_command_words_never_collide() -> None:
    catalog = load_catalog()
    keywords = [k.upper() for s in catalog.services for _, k in s.keywords.items()]
    assert {"KATU", "VERO", "JÄTE"} <= set(keywords)
    kinds = ("help", "stop", "start", "yes", "no", "reopen")
    commands = [w for kind in kinds for w in texts.words(kind)]
    assert {"ÖPPNA", "REOPEN", "AVAA"} <= set(commands)
    everything = keywords + commands + ["STATUS"]
    assert len(everything) == len(set(everything)), sorted(everything)
    assert not any(w.isdigit() for w in everything)
    for service in catalog.services:  # a keyword names its own service in its own language
        for language, keyword in service.keywords.items():
            assert catalog.by_keyword(keyword.lower()) == (service, language)


# -- SMS segments: every template in every language fits two ---------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sms_template_fits_two_segments_in_its_alphabet(language: str) -> None:
    values = sample(language)
    ucs2 = texts.meta(language).get("sms_alphabet") == "ucs2"
    sms_keys = [("sms", k) for k in texts.section("sms", language)]
    notify_keys = [
        ("notify", k)
        for k in texts.section("notify", language)
        if k
        not in (
            "confirm_email",
            "subject",
            "confirm_subject",
            "code_subject",
            "verdict_email",
            "verdict_subject",
        )
    ]
    measured = {}
    for section, key in sms_keys + notify_keys:
        body = for_sms(texts.say(section, key, language, **values), language)
        measured[key] = segments(body)
        assert segments(body) <= 2, (language, key, len(body), body)
        assert is_gsm7(body) is not ucs2 or (key in ("unknown_outro",) and not body), (key, body)
    # A catalog question with its error, as the dialogue sends it.
    catalog = load_catalog()
    for service in catalog.services:
        for attr in service.attributes:
            asked = sms_text(
                "ask",
                language,
                service=service.name(language),
                name=attr.name(language),
                description=attr.description(language),
            )
            assert segments(for_sms(f"{attr.error(language)} {asked}", language)) <= 2
    print(f"{language}: segments per template {measured}")


def test_arabic_stays_arabic_and_latin_languages_stay_gsm7() -> None:
    arabic = for_sms(sms_text("declined", "ar"), "ar")
    assert arabic == "حسنا، لم يتم تقديم أي طلب." and not is_gsm7(arabic)
    assert for_sms("Kyllä “ok” 👍", "fi") == 'Kyllä "ok" '
    for language in LANGUAGES:  # the help list: measured, within three segments
        reply = for_sms(help_text(load_catalog(), language, unknown=True), language)
        assert segments(reply) <= 3, (language, len(reply))


# -- every channel in every language ---------------------------------------------------------
def sms_reply(bus: LocalBus, body: str, sender: str = ANNA) -> str:
    response = twilio_request(bus, "/channels/sms", sms_params(sender, body))
    assert response.status == 200, response.text
    return ET.fromstring(response.body).findtext("Message") or ""


@pytest.mark.parametrize(
    ("keyword", "thanks", "name"),
    [
        ("GATA", "Tack!", "Skada på gata"),
        ("STREET", "Thank you!", "Street damage"),
        ("KATU", "Kiitos!", "Katuvaurio"),
        ("شارع", "شكرا!", "ضرر في الشارع"),
    ],
)
def test_a_keyword_files_and_is_answered_in_its_language(
    bus: LocalBus, keyword: str, thanks: str, name: str
) -> None:
    reply = sms_reply(bus, f"{keyword} Storgatan 1 djupt hål")
    assert reply.startswith(thanks) and name in reply
    assert re.search(r"\b\d{10}\b", reply)


@pytest.mark.parametrize(
    ("word", "expected"),
    [("HJÄLP", "GATA"), ("HELP", "STREET"), ("APUA", "KATU"), ("مساعدة", "شارع")],
)
def test_help_lists_the_keywords_of_its_language(bus: LocalBus, word: str, expected: str) -> None:
    assert expected in sms_reply(bus, word)


def test_the_phone_menu_offers_every_language_with_its_voice(bus: LocalBus) -> None:
    call = Call(bus)
    says = [(s.attrib.get("language"), s.attrib.get("voice")) for s in call.gather.iter("Say")]
    assert says == [
        ("sv-SE", "Polly.Astrid"),
        ("en-GB", "Polly.Amy"),
        ("fi-FI", "Polly.Suvi-Neural"),
        ("arb", "Polly.Zeina"),
    ]
    assert "Suomeksi, paina 3" in call.said and "للعربية، اضغط 4" in call.said
    call.press("3")
    assert "Katuvaurio: paina 2" in call.said
    assert {s.attrib["language"] for s in call.root.iter("Say")} == {"fi-FI"}
    arabic = Call(bus)
    arabic.press("4")
    assert "ضرر في الشارع: اضغط 2" in arabic.said
    arabic.press("2")  # street damage: the address is taken by speech, in Arabic
    assert arabic.gather.attrib["language"] == "ar-SA"


@pytest.mark.parametrize(
    ("language", "words"),
    [("fi", "on nyt käsittelyssä"), ("ar", "قيد المعالجة الآن"), ("sv", "handläggs nu")],
)
def test_notifications_are_sent_in_the_requests_language(
    bus: LocalBus, language: str, words: str
) -> None:
    confirmed(phone=ANNA)
    body = {
        "address": "Storgatan 1",
        "phone": "0701234567",
        "notify_by": "sms",
        "consent": "true",
        "language": language,
    }
    response = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)
    assert response.status == 201, response.text
    reference = response.json()["reference"]
    bus.pump()
    headers = {"Authorization": "Bearer local-streets-key"}
    path = f"/agency/v1/requests/{reference}/status"
    assert (
        bus.request("POST", path, headers=headers, json_body={"status": "in_progress"}).status
        == 200
    )
    bus.pump()
    sent = json.loads(json.dumps(collect(bus)))
    assert words in sent[-1]["body"] and reference in sent[-1]["body"]


@pytest.mark.parametrize(
    ("path", "language", "words"),
    [
        ("/fi", "fi", "Mitä haluat tehdä?"),
        ("/ar", "ar", "ماذا تريد أن تفعل؟"),
        ("/fi/status", "fi", "Katso asiasi tilanne"),
        ("/ar/forms/street-damage", "ar", "ضرر في الشارع"),
    ],
)
def test_web_pages_in_finnish_and_arabic(
    bus: LocalBus, path: str, language: str, words: str
) -> None:
    response = bus.request("GET", path, headers={"Accept": "text/html"})
    assert response.status == 200
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in response.text
    assert words in response.text


# -- a fifth language, from a fixture ------------------------------------------------------
@pytest.fixture
def german(tmp_path: Path) -> Iterator[LocalBus]:
    """The shipped language packs plus a German one, and the catalog with German texts: data
    only, handed to the bus the way a deployment would (LANGUAGES_PATH, CATALOG_PATH)."""
    packs = tmp_path / "languages"
    shutil.copytree(texts.PACKS, packs)
    shutil.copy(FIXTURES / "de.json", packs / "de.json")
    words = json.loads((FIXTURES / "de-catalog.json").read_text(encoding="utf-8"))
    catalog = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))

    def add(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("sv"), str):
                node["de"] = words.get(node["sv"], node["sv"])
                return
            for value in node.values():
                add(value)
        elif isinstance(node, list):
            for value in node:
                add(value)

    add(catalog)
    for service in catalog["services"]:
        service["terms"]["de"] = words["_terms"].get(service["service_code"], [])
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    with LocalBus(env={"LANGUAGES_PATH": str(packs), "CATALOG_PATH": str(path)}) as local:
        yield local


def test_a_fifth_language_from_a_fixture_reaches_every_channel(german: LocalBus) -> None:
    bus = german
    # SMS: its keyword files, its help lists its keywords, free text gets its question.
    filed = sms_reply(bus, "STRASSE Storgatan 1 tiefes Loch")
    assert filed.startswith("Danke! Straßenschaden ist eingegangen.")
    found = re.search(r"\b(\d{10})\b", filed)
    assert found, filed
    reference = found.group(1)
    assert "MUELL <adresse>: Müllabfuhr verpasst" in sms_reply(bus, "HILFE")
    question = sms_reply(bus, "Die Mülltonne wurde nicht geleert, Sopvägen 3", "+46702222222")
    assert question == "Müllabfuhr verpasst, Sopvägen 3? Antworten Sie JAWOHL zum Absenden."
    assert sms_reply(bus, "JAWOHL", "+46702222222").startswith("Danke! Müllabfuhr verpasst")
    # Notification: the request was filed in German, so its news is German.
    headers = {"Authorization": "Bearer local-streets-key"}
    path = f"/agency/v1/requests/{reference}/status"
    assert (
        bus.request("POST", path, headers=headers, json_body={"status": "in_progress"}).status
        == 200
    )
    bus.pump()
    sent = json.loads(json.dumps(collect(bus)))
    assert any("wird jetzt bearbeitet" in m["body"] for m in sent), sent
    # Web: /de, German words and a link from every other language.
    page = bus.request("GET", "/de", headers={"Accept": "text/html"})
    assert page.status == 200 and '<html lang="de" dir="ltr">' in page.text
    assert "Was möchten Sie tun?" in page.text and "Straßenschaden" in page.text
    home = bus.request("GET", "/fi", headers={"Accept": "text/html"}).text
    assert 'href="/de" lang="de" hreflang="de"' in home
    # Phone: a fifth digit, a German voice, the German menu.
    call = Call(bus)
    assert "Für Deutsch drücken Sie 5." in call.said
    assert ("de-DE", "Polly.Marlene") in {
        (s.attrib.get("language"), s.attrib.get("voice")) for s in call.root.iter("Say")
    }
    call.press("5")
    assert "Straßenschaden: drücken Sie 2." in call.said

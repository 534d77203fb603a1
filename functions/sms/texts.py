"""Every SMS reply, in every language: the ``sms`` texts of the language packs
(``functions/platform/languages``). Latin-script packs stay in GSM-7; a pack whose alphabet
is ``ucs2`` (Arabic) is sent as UCS-2, and every template fits two segments either way
(tests/test_languages.py)."""

from __future__ import annotations

from functions.platform.gsm import strip_symbols, to_gsm7
from functions.platform.texts import meta, say, section
from schemas.catalog import Attribute, Catalog, Service


def keys() -> list[str]:
    """Every SMS text's key (the default language has them all)."""
    return sorted(section("sms", "sv"))


def text(key: str, language: str, /, **values: str) -> str:
    return say("sms", key, language, **values)


def for_sms(body: str, language: str) -> str:
    """``body`` as it leaves: GSM-7 for a GSM-7 language (one odd character would turn the
    message into UCS-2 and cut a segment from 160 to 70 characters), else without emoji."""
    if meta(language).get("sms_alphabet") == "ucs2":
        return strip_symbols(body)
    return to_gsm7(body)


def usage(service: Service, language: str) -> str:
    """``GATA <adress> [beskrivning]``: the keyword, required and optional attributes."""
    parts = [service.keywords(language)]
    for attr in service.attributes:
        name = attr.name(language).lower()
        parts.append(f"<{name}>" if attr.required else f"[{name}]")
    return " ".join(parts)


def help_text(catalog: Catalog, language: str, unknown: bool = False) -> str:
    lines = []
    if unknown:
        lines.append(text("unknown", language))
    lines.append(text("help_intro", language, jurisdiction=catalog.jurisdiction.name(language)))
    lines += [f"{usage(s, language)}: {s.name(language)}" for s in catalog.services]
    lines.append(text("help_outro", language))
    if unknown and text("unknown_outro", language):
        lines.append(text("unknown_outro", language))
    return "\n".join(lines)


def ask(service: Service, attr: Attribute, language: str) -> str:
    return text(
        "ask",
        language,
        service=service.name(language),
        name=attr.name(language),
        description=attr.description(language),
    )

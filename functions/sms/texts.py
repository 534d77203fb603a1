"""Every SMS reply, in Swedish and English, written to stay in GSM-7 and few segments."""

from __future__ import annotations

from schemas.catalog import Attribute, Catalog, Service

TEXTS: dict[str, dict[str, str]] = {
    "help_intro": {
        "sv": "{jurisdiction} via sms. Skriv ett kodord:",
        "en": "{jurisdiction} by SMS. Text a keyword:",
    },
    "help_outro": {
        "sv": "STATUS <ärendenr> visar läget. STOP stänger av sms, START slår på.",
        "en": "STATUS <reference> shows progress. STOP ends texts, START resumes.",
    },
    "unknown": {
        "sv": "Det förstod vi inte.",
        "en": "Sorry, we did not get that.",
    },
    "unknown_outro": {"sv": "", "en": "På svenska: skriv HJÄLP."},
    "ask": {
        "sv": "{service}: {name}? {description} Svara inom 15 min.",
        "en": "{service}: {name}? {description} Reply within 15 min.",
    },
    "filed": {
        "sv": "Tack! {service} är mottaget. Ärendenummer: {reference}. "
        "Skriv STATUS {reference} för att se läget.",
        "en": "Thank you! {service} is received. Reference: {reference}. "
        "Text STATUS {reference} to follow it.",
    },
    "status": {
        "sv": "Ärende {reference} ({service}): {status}.",
        "en": "Request {reference} ({service}): {status}.",
    },
    "status_expected": {"sv": " Beräknat klart {date}.", "en": " Expected by {date}."},
    "status_not_found": {
        "sv": "Vi hittar inget ärende {reference} från ditt nummer.",
        "en": "We found no request {reference} from your number.",
    },
    "status_invalid": {
        "sv": "{reference} är inget ärendenummer. Det har 8 till 12 siffror.",
        "en": "{reference} is not a reference. A reference has 8 to 12 digits.",
    },
    "status_none": {
        "sv": "Du har inga ärenden från det här numret.",
        "en": "You have no requests from this number.",
    },
    "status_list": {"sv": "Dina senaste ärenden: {items}", "en": "Your latest requests: {items}"},
    "stop": {
        "sv": "Du får inga fler sms om dina ärenden. Skriv START för att få dem igen.",
        "en": "You will get no more texts about your requests. Text START to get them again.",
    },
    "start": {
        "sv": "Du får sms om dina ärenden igen. Skriv STOP för att stänga av.",
        "en": "You will get texts about your requests again. Text STOP to end them.",
    },
    "confirmed": {
        "sv": "Tack! Du får sms om ärende {reference}. Skriv STOP för att stänga av.",
        "en": "Thank you! You will get texts about request {reference}. Text STOP to end them.",
    },
    "no_sender": {
        "sv": "Vi kunde inte se vilket nummer meddelandet kom från.",
        "en": "We could not tell which number this came from.",
    },
}


def text(key: str, language: str, **values: str) -> str:
    return TEXTS[key]["en" if language == "en" else "sv"].format(**values)


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

"""What of a request may be published as open data, and how it is made safe first.

Rules (the same for Open311 and the aggregates):

- never names, phone numbers, e-mail addresses, personal codes or personal identity numbers:
  contact details and attributes the catalog marks ``personal`` are not read at all;
- free text only when the service's ``public_description`` is true, and then scrubbed of
  phone numbers, e-mail addresses, Swedish personal identity numbers, 8-digit codes and every
  personal value filed with the request;
- addresses no finer than the street: house numbers, entrances, floors, apartments and
  postcodes are dropped, and no coordinates are published;
- no control characters (see ``schemas.request.CONTROL``): intake refuses them, and what was
  stored before that is stripped here, so every public answer stays well-formed XML.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from functions.domain.requests.records import Request
from schemas.text import strip_control

if TYPE_CHECKING:
    from schemas.catalog import Service

REDACTED = "[…]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Personal identity numbers: ÅÅMMDD-XXXX, ÅÅMMDD+XXXX, ÅÅÅÅMMDD-XXXX, ÅÅÅÅMMDDXXXX, ÅÅMMDDXXXX.
_PERSONNUMMER = re.compile(r"(?<!\d)(?:\d{2})?\d{6}\s?[-+]?\s?\d{4}(?!\d)")
# Phone numbers: +46 70 123 45 67, 070-123 45 67, 0701234567, (08) 123 456 …
_PHONE = re.compile(r"(?<![\w])(?:\+|00)?\(?\d[\d\s().-]{5,}\d(?!\d)")
_LONG_DIGITS = re.compile(r"(?<!\d)\d{8,}(?!\d)")  # 8-digit personal codes and the like

# Words that introduce something finer than the street (Swedish and English).
_FINER = {
    "lgh",
    "lägenhet",
    "lägenhetsnummer",
    "tr",
    "trappor",
    "trappa",
    "uppg",
    "uppgång",
    "port",
    "ingång",
    "bv",
    "nb",
    "apt",
    "apartment",
    "flat",
    "unit",
    "floor",
    "entrance",
    "suite",
    "c/o",
}


def scrub(text: str, known: tuple[str, ...] = ()) -> str:
    """``text`` with personal data replaced by ``[…]``.

    ``known`` are the personal values filed with the request (phone, e-mail, personal
    attributes); they are removed wherever they appear, in any spacing. Control characters
    are dropped first.
    """
    text = strip_control(text)
    for value in sorted((k for k in known if k and len(k) >= 3), key=len, reverse=True):
        text = re.sub(_loose(value), REDACTED, text, flags=re.IGNORECASE)
    text = _EMAIL.sub(REDACTED, text)
    text = _PERSONNUMMER.sub(REDACTED, text)
    text = _PHONE.sub(lambda m: REDACTED if _digits(m.group()) >= 6 else m.group(), text)
    text = _LONG_DIGITS.sub(REDACTED, text)
    return re.sub(r"\s{2,}", " ", text).strip()


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _loose(value: str) -> str:
    """A pattern that finds ``value`` with any spacing or dashes between its characters."""
    chars = [re.escape(c) for c in value if not c.isspace() and c not in "-()"]
    if value.startswith("+46"):  # a Swedish number may be written 07… as well as +467…
        return _loose(value[3:]) + "|" + _loose("0" + value[3:]) + "|" + _join(chars)
    return _join(chars)


def _join(chars: list[str]) -> str:
    return r"[\s()-]*".join(chars)


def street_only(address: str | None) -> str | None:
    """The street name of ``address``: no number, entrance, floor, apartment or postcode.

    ``"Storgatan 12B, lgh 1102"`` → ``"Storgatan"``; ``"12 Main Street"`` → ``"Main Street"``.
    None when nothing street-like is left.
    """
    if not address:
        return None
    first = re.split(r"[,;\n]", address, maxsplit=1)[0]
    kept: list[str] = []
    for token in first.split():
        bare = token.strip(".:#").lower()
        if any(c.isdigit() for c in token) or token.startswith("#"):
            if kept:  # the number after the street name: everything after it is finer
                break
            continue  # a number before the street name ("12 Main Street")
        if bare in _FINER:
            break
        if kept and len(token) == 1 and token.isalpha():  # an entrance letter ("12 B")
            continue
        kept.append(token)
    street = " ".join(kept).strip(" .-")
    if not street or "@" in street:
        return None
    return street


def known_personal_values(record: Request) -> tuple[str, ...]:
    """Every personal value filed with ``record``, to be scrubbed from anything public."""
    contact = record.get("contact") or {}
    values = [str(v) for v in (record.get("personal") or {}).values()]
    values += [str(v) for v in contact.values() if isinstance(v, str)]
    return tuple(values)


def public_text(service: Service, text: str | None, record: Request) -> str | None:
    """``text`` if the service publishes free text, scrubbed; otherwise None."""
    if not service.public_description or not text:
        return None
    cleaned = scrub(text, known_personal_values(record))
    return cleaned or None


def public_address(service: Service, record: Request) -> str | None:
    """The street of the request's location attribute (never a personal attribute)."""
    attributes = record.get("attributes") or {}
    for attribute in service.attributes:
        if attribute.location and not attribute.personal and attributes.get(attribute.code):
            street = street_only(str(attributes[attribute.code]))
            if street:
                return scrub(street, known_personal_values(record)) or None
    return None


def public_description(service: Service, record: Request) -> str | None:
    """The request's free-text description as it may be published (or None)."""
    attributes = record.get("attributes") or {}
    attribute = service.attribute("description")
    text = attributes.get("description") if attribute and not attribute.personal else None
    return public_text(service, text or record.get("description"), record)

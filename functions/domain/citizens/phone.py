"""What the SMS and voice channels share: the caller's identity and their requests' status.

On these channels the phone number is the identity: Twilio's ``From`` in E.164 becomes the
pseudonymous citizen id, and a status look-up only ever finds that citizen's own requests.
"""

from __future__ import annotations

from typing import NamedTuple

from functions.domain.citizens.identity import InvalidPhone, normalize_phone, pseudonym
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore
from functions.platform.texts import status_name
from schemas.catalog import Catalog

__all__ = ["Caller", "caller", "own_request", "service_name", "status_name"]


class Caller(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    """Who is texting or calling: the E.164 number (stored as contact only) and citizen id."""

    phone: str
    citizen: str


def caller(raw_from: str, region: str) -> Caller | None:
    """The caller behind Twilio's ``From``; None for a withheld, alphanumeric or bad number."""
    raw = raw_from.strip()
    if not raw or not raw.lstrip("+").isdigit():
        return None
    try:
        phone = normalize_phone(raw, region)
    except InvalidPhone:
        return None
    return Caller(phone=phone, citizen=pseudonym("phone", phone))


def own_request(reference: str, citizen: str, store: RequestStore | None = None) -> Request | None:
    """The citizen's own request with this reference, or None (also for anyone else's)."""
    if not is_valid(reference):
        return None
    record = (store or RequestStore()).get(reference)
    if record is None or record.get("citizen") != citizen:
        return None
    return record


def service_name(catalog: Catalog, code: str, language: str) -> str:
    service = catalog.service(code)
    return service.name(language) if service else code

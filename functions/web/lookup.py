"""The status look-up: a request is shown only to someone who knows its contact details.

"No such reference" and "wrong phone number or e-mail" get the same answer, so the look-up
cannot be used to learn which references exist.
"""

from __future__ import annotations

import hmac

from functions.domain.citizens.identity import InvalidPhone, normalize_phone
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore


def clean_reference(raw: str) -> str:
    """The reference as typed, without the spaces and dashes people add to read it."""
    return "".join(ch for ch in raw if ch not in " -\u00a0\t")


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def contact_matches(record: Request, contact: str, region: str) -> bool:
    """True when ``contact`` is the phone number or e-mail address the request was filed with."""
    stored = record.get("contact") or {}
    contact = contact.strip()
    if "@" in contact:
        return _same(str(stored.get("email") or "").lower(), contact.lower())
    try:
        phone = normalize_phone(contact, region)
    except InvalidPhone:
        return False
    return _same(stored.get("phone"), phone)


def find_request(
    reference: str, contact: str, region: str, store: RequestStore | None = None
) -> Request | None:
    """The request if ``reference`` exists and ``contact`` is its contact detail, else None."""
    reference = clean_reference(reference)
    if not is_valid(reference) or not contact.strip():
        return None
    record = (store or RequestStore()).get(reference)
    if record is None or not contact_matches(record, contact, region):
        return None
    return record

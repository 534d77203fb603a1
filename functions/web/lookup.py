"""The status look-up: a request is shown only to someone who knows its contact details.

"No such reference" and "wrong phone number or e-mail" get the same answer, so the look-up
cannot be used to learn which references exist.
"""

from __future__ import annotations

import hmac
from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.domain.citizens.identity import InvalidPhone, normalize_phone
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore
from functions.domain.requests.views import citizen_view
from functions.platform.catalog import get_catalog
from functions.platform.http import json_response
from functions.platform.observability import logger, metrics
from web import render
from web.http import html_response
from web.texts import text


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


def answer_lookup(fields: dict[str, Any], language: str, html: bool) -> Response[Any]:
    """``POST /status``: the request if the contact matches, else the same 404 for everyone
    (an unknown reference and a wrong contact look alike); HTML for browsers, JSON otherwise."""
    reference = str(fields.get("reference") or "")[:40]
    contact = str(fields.get("contact") or "")[:254]
    t = text(language)
    errors = []
    if not reference.strip():
        errors.append({"field": "reference", "message": t["err_reference"]})
    if not contact.strip():
        errors.append({"field": "contact", "message": t["err_contact"]})
    values = {"reference": reference, "contact": contact}
    if errors:
        if html:
            return html_response(400, render.status_form(language, values, errors))
        return json_response(400, {"errors": errors})
    region = get_catalog().jurisdiction.phone_region
    record = find_request(reference, contact, region)
    logger.info("status looked up", extra={"found": record is not None})
    if record is None:
        if html:
            return html_response(404, render.status_form(language, values, not_found=True))
        return json_response(404, {"errors": [{"field": "reference", "message": t["not_found"]}]})
    metrics.add_metric(name="StatusLookups", unit="Count", value=1)
    if html:
        return html_response(200, render.status_result(record, language))
    return json_response(200, citizen_view(record), headers={"Cache-Control": "no-store"})

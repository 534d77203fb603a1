"""The status look-up: a request's status for someone who knows its contact details, and its
details only with a one-time code sent to that contact.

``POST /status`` with ``reference`` and ``contact`` answers the status, its dates and the
expected date only (never the address, description, attributes or notes); with ``code`` too,
the whole request. ``POST /status/code`` asks the bus to send that code (6 digits, 10 minutes,
5 tries) to the contact, if it is the request's and it is confirmed; the answer is the same
either way. "No such reference" and "wrong phone number or e-mail" get the same answer, so
the look-up cannot be used to learn which references exist. Repeated attempts from one client
(source IP) or on one reference get 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from functions.domain.citizens import contacts
from functions.domain.citizens.identity import InvalidPhone, normalize_phone
from functions.domain.requests import reopen
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore
from functions.domain.requests.views import citizen_view
from functions.platform import aws, clock
from functions.platform.catalog import get_catalog
from functions.platform.dedup_store import DedupStore
from functions.platform.errors import ApiError
from functions.platform.http import FORM, JSON, content_type, form_body, json_body, json_response
from functions.platform.observability import logger, metrics
from functions.platform.settings import get_settings
from web import render
from web.http import html_response
from web.texts import text

# Attempts (look-ups and code requests together) per window: per client and per reference.
WINDOW_SECONDS = 15 * 60
PER_CLIENT = 30
PER_REFERENCE = 10
# Codes sent for one reference per hour (each one is a message to the citizen).
CODES_PER_HOUR = 3
STATUS_ONLY = ("reference", "status", "submitted_at", "updated_at", "expected_at")


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


def posted_fields(event: APIGatewayProxyEventV2) -> dict[str, Any]:
    """The posted fields, form-encoded or JSON."""
    kind = content_type(event)
    if kind == FORM:
        return {k: v[0] for k, v in form_body(event).items()}
    if kind == JSON:
        data = json_body(event)
        return data if isinstance(data, dict) else {}
    raise ApiError.one(415, "content-type", f"send the look-up as {FORM} or {JSON}")


def status_view(record: Request) -> dict[str, Any]:
    """What the look-up shows without a code: the status, its dates and the expected date."""
    view = {k: record[k] for k in STATUS_ONLY if k in record}  # type: ignore[literal-required]
    view["history"] = [
        {"status": h.get("status"), "at": h.get("at")} for h in record.get("history") or []
    ]
    return view


def throttled(client_ip: str, reference: str) -> int:
    """Seconds to wait when this client or this reference tried too often, else 0."""
    dedup = DedupStore()
    client = hashlib.sha256(client_ip.encode()).hexdigest()[:32]
    wait = dedup.take(f"ratelimit#lookup-client#{client}", PER_CLIENT, WINDOW_SECONDS)
    if not wait and is_valid(reference):
        wait = dedup.take(f"ratelimit#lookup-ref#{reference}", PER_REFERENCE, WINDOW_SECONDS)
    return wait


def _fields(fields: dict[str, Any]) -> tuple[str, str, str]:
    return (
        clean_reference(str(fields.get("reference") or "")[:40]),
        str(fields.get("contact") or "")[:254],
        str(fields.get("code") or "")[:12].strip(),
    )


def _refused(
    status: int,
    errors: list[dict[str, str]],
    values: dict[str, str],
    language: str,
    html: bool,
    headers: dict[str, str] | None = None,
    not_found: bool = False,
) -> Response[Any]:
    if html:  # a page not found says so once, in its own box (one error summary per page)
        page = render.status_form(
            language, values, [] if not_found else errors, not_found=not_found
        )
        return html_response(status, page, headers)
    return json_response(status, {"errors": errors}, headers)


def _missing(reference: str, contact: str, language: str) -> list[dict[str, str]]:
    t = text(language)
    errors = []
    if not reference:
        errors.append({"field": "reference", "message": t["err_reference"]})
    if not contact.strip():
        errors.append({"field": "contact", "message": t["err_contact"]})
    return errors


def _gate(
    reference: str,
    contact: str,
    values: dict[str, str],
    language: str,
    html: bool,
    client_ip: str,
) -> Response[Any] | None:
    """The same gate before a look-up and a code: 400 for a missing field, 429 past the
    throttle (per client and per reference); None to go on."""
    errors = _missing(reference, contact, language)
    if errors:
        return _refused(400, errors, values, language, html)
    wait = throttled(client_ip, reference)
    if wait:
        metrics.add_metric(name="StatusLookupsThrottled", unit="Count", value=1)
        errors = [{"field": "reference", "message": text(language)["err_too_many"]}]
        return _refused(429, errors, values, language, html, {"Retry-After": str(wait)})
    return None


def answer_lookup(
    fields: dict[str, Any], language: str, html: bool, client_ip: str = ""
) -> Response[Any]:
    """``POST /status``: the status if the contact matches, the whole request with a valid
    code, else the same 404 for everyone; HTML for browsers, JSON otherwise."""
    reference, contact, code = _fields(fields)
    t = text(language)
    values = {"reference": reference, "contact": contact}
    if (refused := _gate(reference, contact, values, language, html, client_ip)) is not None:
        return refused
    region = get_catalog().jurisdiction.phone_region
    record = find_request(reference, contact, region)
    logger.info("status looked up", extra={"found": record is not None, "with_code": bool(code)})
    if record is None:
        errors = [{"field": "reference", "message": t["not_found"]}]
        return _refused(404, errors, values, language, html, not_found=True)
    full = False
    if code:
        checked = contacts.check_code(record["reference"], code)
        if checked == "void":
            errors = [{"field": "code", "message": t["err_code_void"]}]
            headers = {"Retry-After": str(WINDOW_SECONDS)}
            return _refused(429, errors, values, language, html, headers)
        if checked != "ok":
            errors = [{"field": "code", "message": t["err_code"]}]
            if html:
                page = render.status_result(
                    record, language, full=False, contact=contact, errors=errors
                )
                return html_response(400, page)
            return json_response(400, {"errors": errors})
        full = True
    metrics.add_metric(name="StatusLookups", unit="Count", value=1)
    token = reopen_token(record) if full else ""
    if html:
        page = render.status_result(
            record, language, full=full, contact=contact, reopen_token=token
        )
        return html_response(200, page)
    body = citizen_view(record) if full else status_view(record)
    body |= {"reopen_token": token} if token else {}
    return json_response(200, body, headers={"Cache-Control": "no-store"})


def reopen_token(record: Request) -> str:
    """The reopen form's token, for a request the citizen may reopen now (else "")."""
    try:
        reopen.check(record, clock.now())
    except reopen.ReopenRefused:
        return ""
    return reopen.web_token(record)


def answer_code_request(
    fields: dict[str, Any], language: str, html: bool, client_ip: str = ""
) -> Response[Any]:
    """``POST /status/code``: send a one-time code to the request's own, confirmed contact.

    The answer (202) is the same whether or not anything was sent."""
    reference, contact, _ = _fields(fields)
    t = text(language)
    values = {"reference": reference, "contact": contact}
    if (refused := _gate(reference, contact, values, language, html, client_ip)) is not None:
        return refused
    record = find_request(reference, contact, get_catalog().jurisdiction.phone_region)
    if record is not None and not DedupStore().take(
        f"ratelimit#lookup-code#{record['reference']}", CODES_PER_HOUR, 3600
    ):
        via = "email" if "@" in contact else "sms"
        _queue_code(record["reference"], via, language)
    logger.info("look-up code asked for", extra={"found": record is not None})
    if html:
        return html_response(202, render.code_form(language, values))
    return json_response(202, {"message": t["code_sent"]}, headers={"Cache-Control": "no-store"})


def _queue_code(reference: str, via: str, language: str) -> None:
    """Ask the notifier to make, keep (hashed) and send the code: it never travels."""
    url = get_settings().notifier_queue_url
    if not url:
        raise RuntimeError("NOTIFIER_QUEUE_URL is not set")
    body = {"lookup_code": {"reference": reference, "via": via, "language": language}}
    aws.sqs().send_message(QueueUrl=url, MessageBody=json.dumps(body))

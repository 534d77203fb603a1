"""``/app/v1/me…``: the citizen's linked contacts and notification preferences.

``POST /app/v1/me/contacts`` asks for a one-time code to a phone or e-mail (202; capped per
caller and per contact, see :mod:`functions.domain.citizens.links`), ``…/verify`` links it
with that code (a wrong one 400, the fifth 429 and the code void), ``DELETE
…/contacts/{phone|email}`` unlinks and ``GET /app/v1/me`` shows the linked contacts masked and
the preferences. The notification phone or e-mail of ``PUT /app/v1/me/preferences`` must be a
linked contact: a number nobody proved is never taken.

Contact values are never logged nor echoed in an error.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.domain.citizens import links
from functions.domain.citizens.contacts import sms_capable
from functions.domain.citizens.identity import InvalidPhone, normalize_phone
from functions.domain.citizens.language import remember
from functions.domain.citizens.store import CitizenStore
from functions.platform import aws
from functions.platform.catalog import get_catalog
from functions.platform.errors import ApiError
from functions.platform.http import json_response, model_from
from functions.platform.observability import logger
from functions.platform.settings import get_settings
from schemas.bodies import ContactBody, ContactCode, Preferences

NO_STORE = {"Cache-Control": "no-store"}


def _contact(body: ContactBody) -> tuple[str, str]:
    """``(kind, value)`` of the one contact named, normalised; 400 naming the field."""
    if bool(body.phone) == bool(body.email):
        raise ApiError.one(400, "phone", "give either a phone number or an e-mail address")
    if body.email:
        return "email", str(body.email).strip().lower()
    jurisdiction = get_catalog().jurisdiction
    try:
        phone = normalize_phone(str(body.phone), jurisdiction.phone_region)
    except InvalidPhone as exc:
        raise ApiError.one(400, "phone", "not a valid phone number") from exc
    if not sms_capable(phone, jurisdiction.sms_countries):
        raise ApiError.one(400, "phone", "codes go only to mobile numbers of this country")
    return "phone", phone


def add_contact(citizen: str, data: Any, language: str) -> Response[Any]:
    """Ask for a code to link a contact: 202, or 429 with ``Retry-After``."""
    kind, value = _contact(model_from(ContactBody, data))
    store = CitizenStore()
    wait = links.request_code(citizen, kind, value, store)
    if wait:
        logger.info("link code refused", extra={"kind": kind, "retry_after": wait})
        errors = [{"field": kind, "message": "too many codes asked for; try again later"}]
        return json_response(429, {"errors": errors}, {"Retry-After": str(wait)})
    url = get_settings().notifier_queue_url
    if not url:
        raise RuntimeError("NOTIFIER_QUEUE_URL is not set")
    body = {"link_code": {"citizen": citizen, "kind": kind, "language": language}}
    aws.sqs().send_message(QueueUrl=url, MessageBody=json.dumps(body))
    logger.info("link code asked for", extra={"kind": kind})
    minutes = links.CODE_TTL_SECONDS // 60
    message = f"a 6-digit code is on its way; it is valid for {minutes} minutes"
    return json_response(202, {"message": message}, NO_STORE)


def verify_contact(citizen: str, data: Any) -> Response[Any]:
    """Link the contact with its code: 200 and the contacts; 400 wrong; 429 voided."""
    body: ContactCode = model_from(ContactCode, data)
    kind, value = _contact(ContactBody(phone=body.phone, email=body.email))
    store = CitizenStore()
    checked = links.verify(citizen, kind, value, body.code, store)
    logger.info("link code checked", extra={"kind": kind, "outcome": checked})
    if checked == "void":
        errors = [{"field": "code", "message": "too many wrong codes; ask for a new one"}]
        return json_response(429, {"errors": errors}, {"Retry-After": "1"})
    if checked != "ok":
        raise ApiError.one(400, "code", "wrong or expired code")
    return json_response(200, me(citizen, store), NO_STORE)


def remove_contact(citizen: str, kind: str) -> dict[str, Any]:
    if kind not in links.KINDS:
        raise ApiError.one(404, "kind", "phone or email")
    store = CitizenStore()
    links.unlink(citizen, kind, store)  # idempotent: none linked is unlinked too
    prefs = store.preferences(citizen)
    if prefs.get(kind):  # nothing goes to an unlinked contact any more
        prefs.pop(kind)
        if prefs.get("notify_by") == {"phone": "sms", "email": "email"}[kind]:
            prefs["notify_by"] = "none"
        store.save_preferences(citizen, prefs)
    logger.info("contact unlinked", extra={"kind": kind})
    return me(citizen, store)


def me(citizen: str, store: CitizenStore | None = None) -> dict[str, Any]:
    """The linked contacts (masked) and the preferences (their contacts masked too)."""
    store = store or CitizenStore()
    contacts = {
        kind: {"value": links.mask(kind, str(item["value"])), "linked_at": item.get("at")}
        for kind, item in links.linked(citizen, store).items()
    }
    prefs = store.preferences(citizen)
    for kind in links.KINDS:
        if prefs.get(kind):
            prefs[kind] = links.mask(kind, str(prefs[kind]))
    prefs.pop("updated_at", None)
    return {"contacts": contacts, "preferences": prefs}


def save_preferences(citizen: str, data: Any) -> dict[str, Any]:
    """Notification channel, language and consent; a phone or e-mail must be linked."""
    prefs: Preferences = model_from(Preferences, data)
    store = CitizenStore()
    linked = links.linked(citizen, store)
    saved: dict[str, Any] = prefs.model_dump(exclude_none=True)
    if prefs.phone:
        try:
            phone = normalize_phone(prefs.phone, get_catalog().jurisdiction.phone_region)
        except InvalidPhone as exc:
            raise ApiError.one(400, "phone", "not a valid phone number") from exc
        saved["phone"] = phone
    jurisdiction = get_catalog().jurisdiction
    sms_phone = saved.get("phone") if prefs.notify_by == "sms" else None
    if sms_phone and not sms_capable(sms_phone, jurisdiction.sms_countries):
        raise ApiError.one(400, "phone", "SMS goes only to mobile numbers of this country")
    for kind in links.KINDS:
        value = saved.get(kind)
        proven = str(linked.get(kind, {}).get("value", ""))
        if value and str(value).lower() != proven.lower():
            raise ApiError.one(
                409, kind, f"link this {kind} first (POST /app/v1/me/contacts with its code)"
            )
        if not value and proven and prefs.notify_by == {"phone": "sms", "email": "email"}[kind]:
            saved[kind] = proven  # the linked contact is the one to notify
    needs = {"sms": "phone", "email": "email", "push": "push_endpoint"}
    field = needs.get(prefs.notify_by)
    if field and not saved.get(field):
        raise ApiError.one(400, field, f"{field} is needed to be notified by {prefs.notify_by}")
    store.save_preferences(citizen, saved)
    if "language" in prefs.model_fields_set:
        remember(citizen, prefs.language, "app:preferences", store)
    if prefs.notify_by != "none":
        store.set_consent(citizen, prefs.notify_by, prefs.consent, "app:preferences")
    logger.info("preferences saved", extra={"notify_by": prefs.notify_by, "consent": prefs.consent})
    return saved

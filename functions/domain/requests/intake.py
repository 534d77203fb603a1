"""Intake: one validated request in, one stored record and one ``submitted`` event out.

Every channel (SMS, phone, app, web e-service, Open311) ends here, so a request filed
anywhere is checked against the same catalog and gets the same kind of reference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from functions.domain.citizens.identity import InvalidPhone, citizen_for_contact, normalize_phone
from functions.domain.requests import duplicates
from functions.domain.requests.events import request_event
from functions.domain.requests.records import Request
from functions.domain.requests.reference import new_reference
from functions.domain.requests.store import Created, ReferenceTaken, RequestStore
from functions.platform import texts
from functions.platform.catalog import get_catalog
from schemas.catalog import Catalog, Service, at_least
from schemas.channels import Channel
from schemas.event_types import SUBMITTED
from schemas.lifecycle import Status
from schemas.request import MAX_IDEMPOTENCY_KEY, NewRequest


def message(key: str, language: str, **values: str) -> str:
    """What is wrong with a filing, in ``language`` (the language packs' ``intake`` texts)."""
    return texts.say("intake", key, language, **values)


class InvalidRequest(Exception):
    """The request cannot be filed; ``errors`` says which fields to fix and why.

    ``status`` is the HTTP status the JSON channels answer with: 400, or 422 for an
    ``Idempotency-Key`` used before with a different request.
    """

    def __init__(self, errors: list[dict[str, str]], status: int = 400) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors
        self.status = status


KEY_FIELD = "Idempotency-Key"
KEY_TOO_LONG = f"at most {MAX_IDEMPOTENCY_KEY} characters"
KEY_REUSED = "this key was used for a different request; use a new key for a new request"


def digest(request: NewRequest) -> str:
    """A hash of the normalised request: a retry has the same, a different request another."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class Filed(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    """The outcome of filing: the stored record, and whether this call created it."""

    record: Request
    created: bool
    duplicate: bool = False  # me too: ``record`` is the open request this filing repeats
    counted: bool = False  # … and this filing counted one more supporter of it
    language: str = "sv"  # the filing's language (for a duplicate's answer)


# More items for the filing's transaction: fixed, or made from the request it writes (the new
# record, or the open request a "me too" follows) and whether the filing is a duplicate.
Also = Sequence[dict[str, Any]] | Callable[[Request, bool], Sequence[dict[str, Any]]]

DEFAULT_NOTIFY: dict[str, str] = {"sms": "sms", "voice": "sms", "app": "push"}


def check(
    request: NewRequest, catalog: Catalog, channel: Channel, assurance: str | None = None
) -> tuple[Service, NewRequest]:
    """Validate ``request`` against the catalog; return the service and a normalised request.

    ``assurance`` is the eIDAS level of the app identity filing it (None elsewhere): an
    attribute the catalog says that level proves (``not_needed_at``) is not asked for."""
    lang = request.language
    errors: list[dict[str, str]] = []
    service = catalog.service(request.service_code)
    if service is None:
        raise InvalidRequest(
            [{"field": "service_code", "message": message("unknown_service", lang)}]
        )
    if lang not in texts.languages():
        shown = ", ".join(texts.languages())
        raise InvalidRequest(
            [{"field": "language", "message": message("language", lang, languages=shown)}]
        )

    attributes = dict(request.attributes)
    description = request.description
    if description and service.attribute("description") and "description" not in attributes:
        attributes["description"] = description
        description = None
    for code in attributes:
        if service.attribute(code) is None:
            errors.append(
                {"field": f"attributes.{code}", "message": message("unknown_attribute", lang)}
            )
    for attr in service.attributes:
        value = attributes.get(attr.code, "").strip()
        if not value:
            attributes.pop(attr.code, None)
            proven = assurance and attr.not_needed_at and at_least(assurance, attr.not_needed_at)
            if attr.required and not proven:
                errors.append(
                    {"field": f"attributes.{attr.code}", "message": message("required", lang)}
                )
            continue
        attributes[attr.code] = value
        if attr.problem(value):
            errors.append({"field": f"attributes.{attr.code}", "message": attr.error(lang)})

    contact = request.contact
    phone = contact.phone if contact else None
    email = contact.email if contact else None
    if phone:
        try:
            phone = normalize_phone(phone, catalog.jurisdiction.phone_region)
        except InvalidPhone:
            errors.append({"field": "phone", "message": message("phone", lang)})
    if channel == "eservice" and not (phone or email) and not errors:
        errors.append({"field": "phone", "message": message("contact", lang)})

    notify_by = request.notify_by or DEFAULT_NOTIFY.get(channel) or ("email" if email else "sms")
    if notify_by == "sms" and not phone and channel not in ("sms", "voice"):
        if request.notify_by:
            errors.append({"field": "notify_by", "message": message("notify_sms", lang)})
        else:
            notify_by = "none"
    if notify_by == "email" and not email:
        errors.append({"field": "notify_by", "message": message("notify_email", lang)})
    if notify_by == "push" and channel != "app":
        errors.append({"field": "notify_by", "message": message("notify_push", lang)})

    if errors:
        raise InvalidRequest(errors)
    normalised = request.model_copy(
        update={
            "attributes": attributes,
            "description": description,
            "contact": request.contact.model_copy(update={"phone": phone})
            if request.contact
            else None,
            "notify_by": notify_by,
        }
    )
    return service, normalised


def build_record(
    service: Service,
    request: NewRequest,
    channel: Channel,
    citizen: str,
    now: datetime,
    retention_days: int,
) -> Request:
    """The stored request: personal attributes and contact details kept apart from the rest."""
    at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    expected = (now + timedelta(days=service.sla_days)).isoformat(timespec="seconds")
    personal = service.personal_codes
    contact = request.contact.model_dump(exclude_none=True) if request.contact else {}
    return {
        "reference": new_reference(),
        "service_code": service.service_code,
        "agency": service.agency,
        "channel": channel,
        "status": Status.RECEIVED.value,
        "citizen": citizen,
        "attributes": {k: v for k, v in request.attributes.items() if k not in personal},
        "personal": {k: v for k, v in request.attributes.items() if k in personal},
        "description": request.description,
        "contact": contact,
        "language": request.language,
        "notify_by": request.notify_by,
        "consent": request.consent,
        "submitted_at": at,
        "submitted_month": at[:7],  # key of the by-month index (Open311 lists, open data)
        "updated_at": at,
        "expected_at": expected.replace("+00:00", "Z"),
        "due": "open",  # in the deadline index until closed or flagged late
        "history": [{"status": Status.RECEIVED.value, "at": at, "by": "citizen"}],
        "version": 1,
        "expires_at": int((now + timedelta(days=retention_days)).timestamp()),
    }


def file_request(
    request: NewRequest,
    *,
    channel: Channel,
    citizen: str | None = None,
    message_id: str | None = None,
    store: RequestStore | None = None,
    catalog: Catalog | None = None,
    now: datetime | None = None,
    assurance: str | None = None,
    marks: dict[str, Any] | None = None,
    also: Also = (),
) -> Filed:
    """File ``request`` once: validate, store with its event, and dedupe on ``message_id``.

    ``citizen`` is the pseudonymous id when the channel knows who is asking (phone number, app
    subject); without it the citizen is known by the contact details given. ``message_id`` is
    scoped to the citizen, so one citizen's id can never answer with another's request.
    Raises :class:`InvalidRequest` (nothing stored) when a field is wrong, when
    ``message_id`` is longer than 128 characters, or (status 422) when ``message_id`` filed a
    different request before; that answer never shows the first request. ``assurance`` is the
    app identity's eIDAS level, ``marks`` more fields of the record and ``also`` more items
    written in the filing's transaction: a list, or a function of the request it writes (the
    new record, or the open one a "me too" follows) and whether it is a duplicate, for items
    that name its reference (the SMS reply kept for a Twilio retry). When one of them fails
    its own condition, nothing is written and
    :class:`~functions.domain.requests.store.Refused` says which.
    """
    catalog = catalog or get_catalog()
    store = store or RequestStore()
    if message_id is not None and len(message_id) > MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest([{"field": KEY_FIELD, "message": KEY_TOO_LONG}])
    service, request = check(request, catalog, channel, assurance)
    fingerprint = digest(request) if message_id else None
    if citizen is None:
        contact = request.contact
        citizen = citizen_for_contact(
            contact.phone if contact else None, contact.email if contact else None
        )
    now = now or datetime.now(UTC)
    dedup_key = f"intake#{channel}#{citizen}#{message_id}" if message_id else None
    place = duplicates.place_key(service, request.attributes)
    # Me too first (one index query); a retried message id is caught by the condition on its
    # dedup item in whichever transaction follows, so the sync path stays at two calls.
    if place and not request.new:
        found = _repeat(
            store, service, place, request, channel, citizen, now, dedup_key, fingerprint, also
        )
        if found is not None:
            return found
    for _ in range(5):
        record = build_record(
            service, request, channel, citizen, now, catalog.jurisdiction.retention_days
        )
        if place:
            record["place_key"] = place
        if assurance:  # the agency sees how sure the bus was of who filed
            record["assurance"] = assurance
        record.update(marks or {})  # type: ignore[typeddict-item]
        event = request_event(SUBMITTED, record, record["submitted_at"])
        extra = also(record, False) if callable(also) else also
        try:
            created: Created = store.create(record, event, dedup_key, fingerprint, extra)
        except ReferenceTaken:
            continue
        if created.created:
            return Filed(record, created=True)
        if created.digest is not None and created.digest != fingerprint:
            raise InvalidRequest([{"field": KEY_FIELD, "message": KEY_REUSED}], status=422)
        original = store.get(created.reference)
        if original is None:  # the message id outlived its request (erased): treat as new
            dedup_key = None
            continue
        if created.follows:  # a retried "me too" whose request closed since: the same answer
            return Filed(original, created=False, duplicate=True, language=request.language)
        return Filed(original, created=False)
    raise RuntimeError("could not draw a free reference")


def _repeat(
    store: RequestStore,
    service: Service,
    place: str,
    request: NewRequest,
    channel: Channel,
    citizen: str,
    now: datetime,
    dedup_key: str | None,
    fingerprint: str | None,
    also: Also,
) -> Filed | None:
    """Me too: the open request this filing repeats, followed (see
    :mod:`functions.domain.requests.duplicates`); None to file it as new."""
    original = duplicates.find_open(store, service, place, now)
    if original is None:
        return None
    items = list(also(original, True) if callable(also) else also)
    dedup = None
    if dedup_key:
        kept = {"reference": original["reference"], "citizen": citizen, "follows": True}
        kept |= {"digest": fingerprint} if fingerprint else {}
        dedup = store.dedup.put_new(dedup_key, store.dedup_ttl, **kept)
    followed = duplicates.follow(
        original,
        request,
        channel=channel,
        citizen=citizen,
        store=store,
        now=now,
        also=items,
        dedup=dedup,
    )
    if followed is None:  # closed meanwhile: file it
        return None
    if followed.seen and dedup_key:  # a retry: answer as the first use of the message id did
        return _seen(store, dedup_key, fingerprint, request.language)
    return Filed(
        followed.record,
        created=False,
        duplicate=True,
        counted=followed.counted,
        language=request.language,
    )


def _seen(store: RequestStore, dedup_key: str, fingerprint: str | None, language: str) -> Filed:
    """The answer to a retried message id whose first use is on record."""
    existing = store.dedup.get(dedup_key) or {}
    first = existing.get("digest")
    if first is not None and first != fingerprint:
        raise InvalidRequest([{"field": KEY_FIELD, "message": KEY_REUSED}], status=422)
    original = store.get(str(existing.get("reference", "")))
    if original is None:
        raise RuntimeError("a message id on record names no request")
    if existing.get("follows"):
        return Filed(original, created=False, duplicate=True, language=language)
    return Filed(original, created=False)

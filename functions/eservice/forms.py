"""Web e-service forms: a posted form as a new request, and the browser's answer (a redirect to
the receipt, or the form again with every error next to its field)."""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.domain.citizens.contacts import sms_capable
from functions.domain.citizens.identity import InvalidPhone, normalize_phone
from functions.domain.requests.intake import InvalidRequest, check, file_request, message
from functions.platform.catalog import get_catalog
from functions.platform.errors import ApiError
from functions.platform.http import (
    model_from,
)
from functions.platform.observability import logger, metrics
from schemas.request import NewRequest
from web import render
from web.http import html_response, prefers_html, redirect
from web.texts import text

META_FIELDS = {
    "description",
    "phone",
    "email",
    "notify_by",
    "language",
    "consent",
    "submission_id",
    "new",
}
TRUE = {"1", "true", "on", "yes"}


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """Accept both flat fields and ``{"attributes": {…}, "contact": {…}}``."""
    flat = {k: v for k, v in data.items() if k not in ("attributes", "contact")}
    for nested in ("attributes", "contact"):
        value = data.get(nested)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise ApiError.one(400, nested, "must be an object")
        flat.update(value)
    return flat


def _truthy(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value or "").lower() in TRUE


def to_new_request(
    service_code: str, fields: dict[str, Any], *, rules: bool = True
) -> tuple[NewRequest, str | None]:
    """The form's fields as a :class:`NewRequest`, and the form's submission id if any.

    With ``rules`` (API clients) a broken notice rule is a 400 (see :func:`notice_problems`).
    Without ``notify_by`` and without consent the request notifies nobody (``none``): a form
    never files a request that silently promises a notification."""
    attributes = {}
    for name, value in fields.items():
        if name in META_FIELDS or name == "service_code":
            continue
        if not isinstance(value, str):
            raise ApiError.one(400, f"attributes.{name}", "must be text")
        attributes[name] = value
    consent = fields.get("consent")
    consented = consent if isinstance(consent, bool) else str(consent or "").lower() in TRUE
    data = {
        "service_code": service_code,
        "attributes": attributes,
        "description": fields.get("description") or None,
        "contact": {
            "phone": fields.get("phone") or None,
            "email": fields.get("email") or None,
        },
        "notify_by": fields.get("notify_by") or (None if consented else "none"),
        "language": fields.get("language") or "sv",
        "consent": consented,
        "new": _truthy(fields.get("new")),
    }
    request: NewRequest = model_from(NewRequest, data)
    problems = notice_problems(request) if rules else []
    if problems:
        try:  # name every problem at once, intake's too
            check(request, get_catalog(), "eservice")
        except InvalidRequest as exc:
            named = {e["field"] for e in problems}
            problems = [e for e in exc.errors if e["field"] not in named] + problems
        logger.info("form refused", extra={"fields": [e["field"] for e in problems]})
        raise ApiError(400, problems)
    submission_id = fields.get("submission_id")
    if submission_id is not None and (
        not isinstance(submission_id, str) or len(submission_id) > 128
    ):
        raise ApiError.one(400, "submission_id", "must be text of at most 128 characters")
    return request, submission_id or None


def notice_problems(request: NewRequest) -> list[dict[str, str]]:
    """The notice rules: ``notify_by`` other than ``none`` needs ``consent``; SMS goes only to
    mobile numbers of the jurisdiction's countries (premium-rate, fixed-line and foreign
    numbers are refused, naming ``phone``)."""
    t = text(request.language)
    problems = []
    if request.notify_by not in (None, "none") and not request.consent:
        problems.append({"field": "consent", "message": t["err_consent"]})
    phone = request.contact.phone if request.contact else None
    sms = request.notify_by == "sms" or (
        request.notify_by is None and not (request.contact and request.contact.email)
    )
    if phone and sms:
        catalog = get_catalog()
        try:
            e164 = normalize_phone(phone, catalog.jurisdiction.phone_region)
        except InvalidPhone:
            return problems  # intake names an invalid number
        if not sms_capable(e164, catalog.jurisdiction.sms_countries):
            problems.append({"field": "phone", "message": t["err_sms_phone"]})
    return problems


def from_browser(accept: str | None) -> bool:

    return prefers_html(accept)


def browser_submit(service_code: str, fields: dict[str, Any]) -> Response[Any]:
    """A plain HTML form post: 303 to the receipt, or the form again with its errors (400).

    Browsers without JavaScript land here too, so every error is drawn next to its field.
    Notifications need the explicit opt-in: ``notify_by`` sms/email without ``consent`` is
    refused here (API clients state consent in the JSON they send).
    """

    catalog = get_catalog()
    language = "en" if fields.get("language") == "en" else "sv"
    service = catalog.service(service_code)
    if service is None:
        return html_response(404, render.not_found(language))
    values = {k: v for k, v in fields.items() if isinstance(v, str)}
    submission_id = values.get("submission_id", "")[:128]
    needs_consent = (
        values.get("notify_by") in ("sms", "email")
        and values.get("consent", "").lower() not in TRUE
    )

    def again(errors: list[dict[str, str]]) -> Response[Any]:
        # Intake names a missing contact only when all else is fine; a form shows it at once.
        named = {e["field"] for e in errors}
        if not (values.get("phone") or values.get("email")) and not named & {"phone", "email"}:
            # Asking for contact details covers "give a phone number to get SMS" too.
            errors = [e for e in errors if e["field"] != "notify_by"]
            errors.append({"field": "phone", "message": message("contact", language)})
        if needs_consent and "consent" not in named:
            errors = [*errors, {"field": "consent", "message": text(language)["err_consent"]}]
        logger.info("form refused", extra={"fields": [e["field"] for e in errors]})
        page = render.service_form(service, language, values, errors, submission_id)
        return html_response(400, page)

    try:
        request, submission_id_or_none = to_new_request(service_code, fields, rules=False)
    except ApiError as exc:
        found = _browser_messages(exc.errors, service_code, language)
        return again(found + _attribute_errors(service_code, fields, found))
    problems = notice_problems(request)
    if needs_consent or problems:
        try:
            check(request, catalog, "eservice")
        except InvalidRequest as exc:
            named = {e["field"] for e in problems}
            return again([e for e in exc.errors if e["field"] not in named] + problems)
        return again(problems)
    try:
        filed = file_request(request, channel="eservice", message_id=submission_id_or_none)
    except InvalidRequest as exc:
        if exc.status == 422:  # sent before with other values (back, edit, send): a new id
            submission_id = str(uuid.uuid4())
        return again(exc.errors)
    reference = filed.record["reference"]
    if filed.created:
        metrics.add_metric(name="RequestsFiled", unit="Count", value=1)
    logger.info("request filed", extra={"reference": reference, "new_request": filed.created})
    return redirect(render.receipt_path(language, reference, service_code, filed.duplicate))


def _attribute_errors(
    service_code: str, fields: dict[str, Any], known: list[dict[str, str]]
) -> list[dict[str, str]]:
    """The attributes' own errors, when a contact field failed first: show all at once."""

    bad = {e["field"].removeprefix("contact.") for e in known}
    rest = {k: v for k, v in fields.items() if k not in bad}
    try:
        request, _ = to_new_request(service_code, rest, rules=False)
        check(request, get_catalog(), "eservice")
    except ApiError:
        return []
    except InvalidRequest as exc:
        return [e for e in exc.errors if e["field"].startswith("attributes.")]
    return []


def _browser_messages(
    errors: list[dict[str, str]], service_code: str, language: str
) -> list[dict[str, str]]:
    """Plain-language messages for the model's checks (which speak developer English)."""

    service = get_catalog().service(service_code)
    t = text(language)
    out = []
    for error in errors:
        name = error["field"].removeprefix("attributes.").removeprefix("contact.")
        attr = service.attribute(name) if service else None
        if attr is not None:
            msg = attr.error(language)
        elif name == "email":
            msg = t["err_email"]
        elif name == "phone":
            msg = message("phone", language)
        else:
            msg = t["err_form"]
        out.append({"field": error["field"], "message": msg})
    return out

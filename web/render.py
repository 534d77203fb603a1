"""Every page of the web e-service, rendered from the service catalog with Jinja2.

The same functions serve the ``web`` Lambda function (pages with per-request content: forms
with errors, receipts, status) and ``python -m web.build`` (the static folder for S3 +
CloudFront). Jinja2 escapes every value; the templates never mark catalog text as safe.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from functions.domain.requests.records import Request
from functions.platform.catalog import get_catalog
from functions.platform.texts import languages, meta, path_prefix
from web.texts import text

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jinja2 import Environment

    from schemas.catalog import Attribute, Service

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
ASSETS = {"site.css": "text/css; charset=utf-8", "site.js": "text/javascript; charset=utf-8"}

# The fields every form has besides the service's own attributes (see functions/eservice).
CONTACT_FIELDS = ("phone", "email", "notify_by", "consent")
PHONE_MAX = 32  # schemas.request.Contact.phone
EMAIL_MAX = 254
# A hint only: the server decides with phonenumbers. Escaped for the `v` flag of pattern.
PHONE_PATTERN = r"[\d\s\+\-\(\)]{6,32}"
# The server (email-validator) wants a dot in the domain; a browser's type=email does not.
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"


def prefix(language: str) -> str:
    """The path prefix of a language: Swedish at ``/``, the others under ``/<code>``."""
    return path_prefix(language)


def home_path(language: str) -> str:
    return prefix(language) or "/"


def form_path(language: str, service_code: str) -> str:
    return f"{prefix(language)}/forms/{service_code}"


def status_path(language: str) -> str:
    return f"{prefix(language)}/status"


def receipt_path(language: str, reference: str, service_code: str, duplicate: bool = False) -> str:
    """The receipt's URL (``duplicate``: the filing followed this open request: me too)."""
    tail = "&duplicate=1" if duplicate else ""
    return f"{prefix(language)}/receipt/{reference}?service={service_code}{tail}"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415 - Jinja2 on the first page only

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.globals.update(
        home_path=home_path,
        form_path=form_path,
        status_path=status_path,
        asset=asset_url,
    )
    return env


@lru_cache(maxsize=len(ASSETS))
def asset_url(name: str) -> str:
    """The URL of a static asset, versioned by its content so it can be cached for a year."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def asset(name: str) -> tuple[bytes, str] | None:
    """A static asset's bytes and content type, or None for anything but the known assets."""
    if name not in ASSETS:
        return None
    return (STATIC / name).read_bytes(), ASSETS[name]


class Field(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    """One form control as the templates draw it."""

    name: str
    label: str
    hint: str = ""
    kind: str = "input"  # input | textarea | select
    type: str = "text"
    value: str = ""
    error: str = ""
    required: bool = False
    attrs: Mapping[str, str | int] = MappingProxyType({})  # read-only: one shared default
    choices: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"field-{self.name}"

    @property
    def described_by(self) -> str:
        ids = [f"{self.id}-hint"] if self.hint else []
        if self.error:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


def html_pattern(pattern: str | None) -> str | None:
    """A catalog regex as an HTML ``pattern`` (which is anchored already)."""
    if not pattern:
        return None
    return re.sub(r"^\^|\$$", "", pattern)


def attribute_field(attr: Attribute, language: str, value: str, error: str) -> Field:
    """An attribute as a form control whose hints match the server's validation."""
    attrs: dict[str, str | int] = {"maxlength": attr.max_length, "data-error": attr.error(language)}
    if attr.min_length:
        attrs["minlength"] = attr.min_length
    pattern = html_pattern(attr.pattern)
    if pattern:
        attrs["pattern"] = pattern
    kind, input_type = "input", "text"
    if attr.values:
        kind = "select"
    elif attr.datatype == "text":
        kind = "textarea"
        attrs["rows"] = 5
    elif attr.input == "digits":
        attrs["inputmode"] = "numeric"
        attrs["autocomplete"] = "off"
        attrs["spellcheck"] = "false"
    elif attr.datatype == "number":
        attrs["inputmode"] = "decimal"
    if attr.location:
        attrs["autocomplete"] = "street-address"
    return Field(
        name=attr.code,
        label=attr.name(language),
        hint=attr.description(language),
        kind=kind,
        type=input_type,
        value=value,
        error=error,
        required=attr.required,
        attrs=attrs,
        choices=attr.values,
    )


def _render(template: str, language: str, **context: Any) -> str:
    catalog = get_catalog()
    t = text(language)
    return (
        _environment()
        .get_template(template)
        .render(
            lang=language,
            dir=meta(language).get("dir", "ltr"),
            others=[meta(code) for code in languages() if code != language],
            t=t,
            site=catalog.jurisdiction.name(language),
            **context,
        )
    )


def home(language: str) -> str:
    """The start page: every service in the catalog, and the status look-up."""
    catalog = get_catalog()
    services = [
        {
            "code": s.service_code,
            "name": s.name(language),
            "description": s.description(language),
        }
        for s in catalog.services
    ]
    return _render(
        "home.html",
        language,
        title=text(language)["home_title"],
        services=services,
        switch_path=home_path,
    )


def service_form(
    service: Service,
    language: str,
    values: dict[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
    submission_id: str = "",
) -> str:
    """A service's form; with ``errors`` (``{"field", "message"}``), each next to its field."""
    from functions.domain.requests.intake import message  # noqa: PLC0415 - intake loads pydantic; only the forms need it

    values = values or {}
    t = text(language)
    by_field = field_errors(errors or [], service)
    fields = [
        attribute_field(a, language, values.get(a.code, ""), by_field.get(a.code, ""))
        for a in service.attributes
    ]
    phone = Field(
        name="phone",
        label=t["phone"],
        hint=t["phone_hint"],
        type="tel",
        value=values.get("phone", ""),
        error=by_field.get("phone", ""),
        attrs={
            "autocomplete": "tel",
            "maxlength": PHONE_MAX,
            "pattern": PHONE_PATTERN,
            "data-error": message("phone", language),
        },
    )
    email = Field(
        name="email",
        label=t["email"],
        hint=t["email_hint"],
        type="email",
        value=values.get("email", ""),
        error=by_field.get("email", ""),
        attrs={
            "autocomplete": "email",
            "maxlength": EMAIL_MAX,
            "pattern": EMAIL_PATTERN,
            "spellcheck": "false",
            "data-error": t["err_email"],
        },
    )
    notify_by = values.get("notify_by") or "none"
    summary = [
        {"href": f"#{_anchor(f, service)}", "message": m} for f, m in _ordered(by_field, service)
    ]
    messages = {
        "required": message("required", language),
        "contact": message("contact", language),
        "notify-sms": message("notify_sms", language),
        "notify-email": message("notify_email", language),
        "consent": t["err_consent"],
        "summary": t["error_summary"],
        "summary-intro": t["error_summary_intro"],
        "prefix": t["error_prefix"],
        "title-prefix": t["error_title_prefix"],
        "sending": t["sending"],
        "chars-left": t["chars_left"],
    }
    title = service.name(language)
    return _render(
        "form.html",
        language,
        title=(t["error_title_prefix"] + title) if summary else title,
        service=service,
        service_name=title,
        service_description=service.description(language),
        fields=fields,
        phone=phone,
        email=email,
        notify_by=notify_by,
        notify_error=by_field.get("notify_by", ""),
        consent=_truthy(values.get("consent")),
        consent_error=by_field.get("consent", ""),
        summary=summary,
        messages=messages,
        submission_id=submission_id,
        action=f"/eservice/v1/forms/{service.service_code}",
        switch_path=lambda other: form_path(other, service.service_code),
    )


def _truthy(value: str | None) -> bool:
    return str(value or "").lower() in {"1", "true", "on", "yes"}


def field_errors(errors: list[dict[str, str]], service: Service) -> dict[str, str]:
    """Errors keyed by the form field they belong to (the first message per field).

    ``attributes.address`` → ``address``, ``contact.email`` → ``email``; anything the form
    has no field for (``service_code``, ``body``) is kept under its own name for the summary.
    """
    out: dict[str, str] = {}
    for error in errors:
        name = error["field"]
        for head in ("attributes.", "contact."):
            if name.startswith(head):
                name = name[len(head) :]
        out.setdefault(name, error["message"])
    return out


def _form_fields(service: Service) -> list[str]:
    return [a.code for a in service.attributes] + list(CONTACT_FIELDS)


def _anchor(name: str, service: Service) -> str:
    if name == "notify_by":
        return "field-notify_by-sms"
    return f"field-{name}" if name in _form_fields(service) else "form-top"


def _ordered(by_field: dict[str, str], service: Service) -> list[tuple[str, str]]:
    """Errors in the order the fields appear on the page (so the summary reads top down)."""
    order = {name: i for i, name in enumerate(_form_fields(service))}
    return sorted(by_field.items(), key=lambda item: order.get(item[0], -1))


def receipt(reference: str, service: Service, language: str, duplicate: bool = False) -> str:
    """The receipt after filing: the reference, big and copyable, and what happens next
    (``duplicate``: it was reported already; the citizen follows that request)."""
    catalog = get_catalog()
    agency = next(a for a in catalog.agencies if a.id == service.agency)
    t = text(language)
    next_text = t["receipt_duplicate_text" if duplicate else "receipt_next_text"]
    return _render(
        "receipt.html",
        language,
        title=t["receipt_duplicate_title" if duplicate else "receipt_title"],
        reference=reference,
        service_name=service.name(language),
        next_text=next_text.format(agency=agency.name(language)),
        switch_path=lambda other: receipt_path(other, reference, service.service_code, duplicate),
    )


def status_form(
    language: str,
    values: dict[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
    not_found: bool = False,
) -> str:
    """The status look-up: reference + the phone number or e-mail used (POSTed)."""
    t = text(language)
    values = values or {}
    by_field = {e["field"]: e["message"] for e in errors or []}
    reference = Field(
        name="reference",
        label=t["reference"],
        hint=t["reference_hint"],
        value=values.get("reference", ""),
        error=by_field.get("reference", ""),
        required=True,
        attrs={
            "inputmode": "numeric",
            "autocomplete": "off",
            "spellcheck": "false",
            "maxlength": 20,
            "pattern": r"[\d\s\-]{8,20}",
            "data-error": t["err_reference"],
        },
    )
    contact = Field(
        name="contact",
        label=t["contact"],
        hint=t["contact_hint_status"],
        value=values.get("contact", ""),
        error=by_field.get("contact", ""),
        required=True,
        attrs={"maxlength": EMAIL_MAX, "spellcheck": "false", "data-error": t["err_contact"]},
    )
    summary = [
        {"href": f"#field-{name}", "message": msg}
        for name, msg in by_field.items()
        if name in ("reference", "contact")
    ]
    title = t["status_title"]
    return _render(
        "status.html",
        language,
        title=(t["error_title_prefix"] + title) if summary or not_found else title,
        fields=[reference, contact],
        summary=summary,
        not_found=not_found,
        messages={
            "required": t["err_required"],
            "summary": t["error_summary"],
            "summary-intro": t["error_summary_intro"],
            "prefix": t["error_prefix"],
            "title-prefix": t["error_title_prefix"],
            "sending": t["sending"],
        },
        switch_path=status_path,
    )


def _when(at: Any) -> dict[str, str]:
    """A timestamp for ``<time>``: machine-readable and short for people (UTC)."""
    raw = str(at or "")
    shown = raw.replace("T", " ").replace("Z", "")[:16]
    return {"iso": raw, "shown": f"{shown} UTC" if shown else ""}


def status_result(
    record: Request,
    language: str,
    *,
    full: bool = True,
    contact: str = "",
    errors: list[dict[str, str]] | None = None,
    reopen_token: str = "",
) -> str:
    """One request's status and its history (newest first). Without ``full`` (no one-time
    code yet) only the status and its dates, and the forms to ask for and enter the code.
    With ``reopen_token`` (a resolved request, after the code) the form that reopens it."""
    catalog = get_catalog()
    t = text(language)
    service = catalog.service(record.get("service_code", ""))
    history = [
        {
            "status": entry.get("status", ""),
            "label": t.get(f"status.{entry.get('status')}", str(entry.get("status", ""))),
            "when": _when(entry.get("at")),
            "note": (entry.get("note") or "") if full else "",
        }
        for entry in reversed(record.get("history") or [])
    ]
    status = str(record.get("status", ""))
    shown = service.name(language) if service else record.get("service_code", "")
    attributes = (
        [
            (attr.name(language), str(record.get("attributes", {}).get(attr.code, "")))
            for attr in service.attributes
            if record.get("attributes", {}).get(attr.code)
        ]
        if full and service
        else []
    )
    return _render(
        "status_result.html",
        language,
        title=t["status_title"],
        reference=record["reference"],
        full=full,
        service_name=shown if full else "",
        attributes=attributes,
        description=str(record.get("description") or "") if full else "",
        contact=contact,
        code_error=next((e["message"] for e in errors or [] if e["field"] == "code"), ""),
        status=status,
        status_label=t.get(f"status.{status}", status),
        submitted=_when(record.get("submitted_at")),
        expected=_when(record.get("expected_at")),
        history=history,
        switch_path=status_path,
        reopen_token=reopen_token if full else "",
    )


def code_form(language: str, values: dict[str, str]) -> str:
    """After asking for a code: where it went (if the details match) and the field for it."""
    t = text(language)
    return _render(
        "code.html",
        language,
        title=t["code_title"],
        reference=values.get("reference", ""),
        contact=values.get("contact", ""),
        code_error="",
        switch_path=status_path,
    )


def confirm_page(language: str, reference: str, done: bool) -> str:
    """The page behind an e-mail's confirmation link: one button (opening it confirms
    nothing), then, after its POST, that the address is confirmed."""
    t = text(language)
    return _render(
        "confirm.html",
        language,
        title=t["confirmed_title" if done else "confirm_title"],
        reference=reference,
        done=done,
        switch_path=home_path,
    )


def message_page(language: str, title: str, lines: list[str]) -> str:
    """A page that says one thing: a reopened request, a verdict kept."""
    return _render("message.html", language, title=title, lines=lines, switch_path=home_path)


def not_found(language: str) -> str:
    t = text(language)
    return _render(
        "not_found.html",
        language,
        title=t["page_not_found"],
        switch_path=home_path,
    )

"""What each audience sees of a stored request."""

from __future__ import annotations

from typing import Any

from functions.domain.requests.records import Request
from schemas.text import strip_control

CITIZEN_FIELDS = (
    "reference",
    "service_code",
    "agency",
    "channel",
    "status",
    "attributes",
    "submitted_at",
    "updated_at",
    "expected_at",
    "history",
)
AGENCY_FIELDS = (
    "reference",
    "service_code",
    "agency",
    "channel",
    "assurance",
    "status",
    "citizen",
    "attributes",
    "description",
    "contact",
    "language",
    "notify_by",
    "submitted_at",
    "updated_at",
    "expected_at",
    "history",
    "version",
)
STATE_FIELDS = ("reference", "service_code", "agency", "status", "updated_at", "expected_at")


def citizen_view(record: Request) -> dict[str, Any]:
    """What the citizen sees of their own request (no internal fields)."""
    return {k: record[k] for k in CITIZEN_FIELDS if k in record}  # type: ignore[literal-required]


def agency_view(record: Request) -> dict[str, Any]:
    """The request as its agency sees it: everything the citizen gave, personal data included."""
    view = {k: record.get(k) for k in AGENCY_FIELDS if record.get(k) is not None}
    view["personal_attributes"] = dict(record.get("personal") or {})
    return {k: _clean(v) for k, v in view.items()}


def _clean(value: Any) -> Any:
    """``value`` with control characters stripped from every text (data stored before intake
    refused them)."""
    if isinstance(value, str):
        return strip_control(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def seen_fields(view: dict[str, Any]) -> list[str]:
    """The personal fields an agency view shows (their names only: what the audit keeps)."""
    return sorted(
        [f"contact.{k}" for k in view.get("contact", {})]
        + [f"personal_attributes.{k}" for k in view["personal_attributes"]]
    )


def state_view(record: Request) -> dict[str, Any]:
    """The state after a change (no personal data: nothing here needs an audit entry)."""
    return {k: record.get(k) for k in STATE_FIELDS if k in record} | {
        "history": record.get("history", []),
        "version": record.get("version"),
    }

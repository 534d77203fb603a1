"""Open311 GeoReport v2: the catalog and stored requests as Open311 documents, JSON or XML.

Everything public goes through :mod:`functions.domain.open_data.privacy` first. The
request id is the citizenbus reference; tokens are stateless (the reference with a keyed MAC), so
``tokens/{token}`` works for every request without storing anything more.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from functions.domain.open_data.privacy import public_address, public_description, public_text
from functions.domain.requests.records import HistoryEntry, Request
from functions.platform import secrets
from schemas import open311 as o311
from schemas.catalog import Catalog, Service
from schemas.lifecycle import Status
from schemas.text import strip_control

MAX_WINDOW = timedelta(days=90)  # the spec: a search "may not span more than 90 days"
MAX_PAGE_SIZE = 1000  # the spec's limit on one answer
# How deep paging may read into a window (page × page_size): one GET never walks a whole
# 90-day window; a client wanting more narrows start_date/end_date instead.
MAX_RECORDS = 10_000
MAX_IDS = 100

XML_ITEMS = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


class Open311Error(Exception):
    """An Open311 error answer: HTTP ``status`` and ``[{"code", "description"}]``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    def body(self) -> list[dict[str, Any]]:
        return [o311.Error(code=self.status, description=self.description).model_dump()]


def split_format(segment: str) -> tuple[str, o311.Format]:
    """``"services.json"`` → ``("services", "json")``; 404 for any other extension."""
    name, dot, extension = segment.rpartition(".")
    if not dot or extension.lower() not in ("json", "xml"):
        stem = name if dot else segment
        raise Open311Error(404, f"{segment}: ask for {stem}.json or {stem}.xml")
    return name, "json" if extension.lower() == "json" else "xml"


def language(locale: str | None, catalog: Catalog) -> str:
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in ("sv", "en") else catalog.jurisdiction.default_language


# -- documents -------------------------------------------------------------------------------
def discovery(base_url: str, changeset: str) -> o311.Discovery:
    return o311.Discovery(
        changeset=changeset,
        contact="The open-data team of the jurisdiction (see the README of citizenbus).",
        key_service="api_key values are issued by the operator (CITIZENBUS_OPEN311_KEYS).",
        endpoints=[o311.Endpoint(url=f"{base_url}/open311/v2", changeset=changeset)],
    )


def services(catalog: Catalog, lang: str) -> list[o311.Service]:
    return [
        o311.Service(
            service_code=s.service_code,
            service_name=s.name(lang),
            description=s.description(lang),
            metadata=bool(s.attributes),
            keywords=f"{s.keywords.sv}, {s.keywords.en}",
            group=s.group,
        )
        for s in catalog.services
    ]


def service_definition(service: Service, lang: str) -> o311.ServiceDefinition:
    return o311.ServiceDefinition(
        service_code=service.service_code,
        attributes=[
            o311.Attribute(
                code=a.code,
                datatype=a.datatype,
                required=a.required,
                datatype_description=a.error(lang),
                order=i,
                description=a.name(lang) + ": " + a.description(lang),
                values=[o311.AttributeValue(key=v, name=v) for v in a.values],
            )
            for i, a in enumerate(service.attributes, start=1)
        ],
    )


def _by_citizen(entry: HistoryEntry) -> bool:
    return str(entry.get("by", "")).startswith("citizen")


def public_request(record: Request, catalog: Catalog, lang: str) -> o311.ServiceRequest:
    """A stored request as Open311 shows it: nothing personal, the street at most."""
    service = catalog.service(record["service_code"])
    if service is None:  # a service removed from the catalog: publish the bare facts
        raise LookupError(record["service_code"])
    agency = next((a for a in catalog.agencies if a.id == record["agency"]), None)
    # Not a citizen's reason for reopening: that is theirs, not the public's.
    history = record.get("history", [])
    notes = [h.get("note") for h in history if h.get("note") and not _by_citizen(h)]
    return o311.ServiceRequest(
        service_request_id=record["reference"],
        status=Status(record["status"]).open311,
        status_notes=public_text(service, notes[-1] if notes else None, record),
        service_name=service.name(lang),
        service_code=service.service_code,
        description=public_description(service, record),
        agency_responsible=agency.name(lang) if agency else record["agency"],
        requested_datetime=record["submitted_at"],
        updated_datetime=record["updated_at"],
        expected_datetime=record["expected_at"],
        address=public_address(service, record),
        supporters=int(record.get("supporters") or 0),
    )


# -- tokens ----------------------------------------------------------------------------------
def _mac(reference: str) -> str:
    key = secrets.value("pseudonym_key").encode()
    return hmac.new(key, f"open311-token:{reference}".encode(), hashlib.sha256).hexdigest()[:20]


def token_for(reference: str) -> str:
    return f"{reference}-{_mac(reference)}"


def reference_of(token: str) -> str | None:
    """The reference a token stands for, or None when the token is not one of ours."""
    reference, _, mac = token.partition("-")
    if reference.isdigit() and hmac.compare_digest(mac, _mac(reference)):
        return reference
    return None


# -- query parameters -------------------------------------------------------------------------
def parse_datetime(name: str, value: str) -> datetime:
    """A W3C datetime (``2010-01-01T00:00:00Z``, an offset, or a bare date)."""
    text = value.strip()
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name}: not a W3C datetime such as 2026-01-31T00:00:00Z") from exc
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The search window: the last 90 days by default, never wider than 90 days."""
    lo = parse_datetime("start_date", start) if start else None
    hi = parse_datetime("end_date", end) if end else None
    if lo is None and hi is None:
        hi = now
    if hi is None:
        assert lo is not None
        hi = lo + MAX_WINDOW
    if lo is None:
        lo = hi - MAX_WINDOW
    if lo > hi:
        raise Open311Error(400, "start_date: must not be after end_date")
    if hi - lo > MAX_WINDOW:
        raise Open311Error(400, "start_date, end_date: the range may not span more than 90 days")
    return lo, hi


def positive_int(name: str, value: str | None, default: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    if not value.strip().isdigit() or not 1 <= int(value) <= maximum:
        raise Open311Error(400, f"{name}: a whole number from 1 to {maximum}")
    return int(value)


def paging(page_text: str | None, size_text: str | None) -> tuple[int, int]:
    """``page`` and ``page_size``, refused when together they read past ``MAX_RECORDS``."""
    size = positive_int("page_size", size_text, MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    page = positive_int("page", page_text, 1, 1_000_000)
    if page * size > MAX_RECORDS:
        raise Open311Error(
            400,
            f"page, page_size: page × page_size may not exceed {MAX_RECORDS}; narrow "
            "start_date and end_date to read further",
        )
    return page, size


def statuses(value: str | None) -> list[str]:
    """Open311 ``status`` (``open``, ``closed``, comma-separated) as lifecycle statuses."""
    if not value:
        return []
    wanted = {v.strip().lower() for v in value.split(",") if v.strip()}
    unknown = wanted - {"open", "closed"}
    if unknown:
        raise Open311Error(400, f"status: {', '.join(sorted(unknown))} is not open or closed")
    return [s.value for s in Status if s.open311 in wanted]


def csv_values(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


# -- XML ---------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """An XML text node's content: never a character XML 1.0 cannot carry."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else strip_control(str(value))


def _fill(element: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            for entry in value:
                item = ET.SubElement(child, XML_ITEMS.get(key, "item"))
                if isinstance(entry, dict):
                    _fill(item, entry)
                else:
                    item.text = _text(entry)
        elif isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = _text(value)


def to_xml(root: str, item: str | None, data: Any) -> str:
    """Open311 XML: ``<root><item>…</item>…</root>`` for lists, ``<root>…</root>`` for one."""
    top = ET.Element(root)
    if item is None:
        _fill(top, data)
    else:
        for entry in data:
            _fill(ET.SubElement(top, item), entry)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="unicode")

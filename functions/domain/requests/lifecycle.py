"""Moving a request along its lifecycle: an agency's status change, and late requests.

Each change is stored with its event in one transaction (the outbox), so the bus and the
store never disagree; a concurrent change is detected by the record's version and the
transition is checked again on the fresh record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from functions.domain.requests.events import request_event
from functions.domain.requests.records import HistoryEntry, Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import Conflict, RequestStore
from functions.platform import clock
from functions.platform.catalog import get_catalog
from functions.platform.observability import logger
from schemas.event_types import SLA_BREACHED, STATUS_CHANGED
from schemas.lifecycle import CLOSED, Status, can_transition

_UPDATE_RETRIES = 3


class NotFound(Exception):
    """No such request for this agency (or no such request at all: the same answer)."""


class Refused(Exception):
    """The lifecycle does not allow the change, or the request kept changing meanwhile."""


@dataclass(frozen=True)
class Changed:
    record: Request
    previous: Status


def retention_expiry(closed_at: datetime) -> int:
    """When a request closed at ``closed_at`` expires: the jurisdiction's retention later."""
    days = get_catalog().jurisdiction.retention_days
    return int((closed_at + timedelta(days=days)).timestamp())


def agency_request(agency: str, reference: str, store: RequestStore | None = None) -> Request:
    """The agency's own request, or :class:`NotFound` (another agency's is not found either)."""
    record = (store or RequestStore()).get(reference) if is_valid(reference) else None
    if record is None or record.get("agency") != agency:
        raise NotFound(reference)
    return record


def change_status(
    agency: str,
    reference: str,
    status: Status,
    *,
    note: str | None = None,
    expected_at: datetime | None = None,
    store: RequestStore | None = None,
) -> Changed:
    """Move the agency's request to ``status``; store the change with its ``status_changed``
    event. Raises :class:`NotFound` or :class:`Refused`."""
    store = store or RequestStore()
    for _ in range(_UPDATE_RETRIES):
        record = agency_request(agency, reference, store)
        current = Status(record["status"])
        if not can_transition(current, status):
            raise Refused(f"a request cannot go from {current.value} to {status.value}")
        now = clock.now()
        at = clock.iso(now)
        changes: dict[str, Any] = {"status": status.value, "updated_at": at}
        if expected_at is not None:
            changes["expected_at"] = clock.iso(expected_at)
        if status.closed:  # retention runs from the close date (DynamoDB TTL)
            changes["expires_at"] = retention_expiry(now)
        entry: HistoryEntry = {"status": status.value, "at": at, "by": f"agency:{agency}"}
        if note is not None:
            entry["note"] = note
        updated: Request = {
            **record,
            **changes,  # type: ignore[typeddict-item]
            "history": [*record.get("history", []), entry],
            "version": record["version"] + 1,
        }
        event = request_event(STATUS_CHANGED, updated, at, previous_status=current.value, note=note)
        try:
            store.update(reference, record["version"], changes, dict(entry), event)
        except Conflict:
            continue  # changed meanwhile: check the transition again on the fresh record
        logger.info(
            "status changed",
            extra={"reference": reference, "from": current.value, "to": status.value},
        )
        return Changed(updated, current)
    raise Refused("the request changed meanwhile; read it and try again")


def flag_late_requests(now: datetime, store: RequestStore | None = None) -> dict[str, int]:
    """Flag open requests past their expected date, once each (one ``sla_breached`` event);
    closed ones found in the deadline index just leave it."""
    store = store or RequestStore()
    at = clock.iso(now)
    flagged = closed = 0
    for record in store.overdue(at):
        if Status(record["status"]) in CLOSED:
            store.clear_due(record["reference"])
            closed += 1
            continue
        event = request_event(SLA_BREACHED, record, at)
        if store.mark_breached(record["reference"], at, event):
            flagged += 1
            logger.info(
                "request late",
                extra={"reference": record["reference"], "expected_at": record["expected_at"]},
            )
    return {"flagged": flagged, "closed": closed}

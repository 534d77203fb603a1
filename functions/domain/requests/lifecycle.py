"""Moving a request along its lifecycle: an agency's status change, and late requests.

Each change is stored with its event in one transaction (the outbox), so the bus and the
store never disagree; a concurrent change is detected by the record's version and the
transition is checked again on the fresh record.

An agency may send an ``Idempotency-Key`` with a change: the answer is stored under the agency
and the key in the idempotency table, in the change's own transaction, so a retry of the same
change gets the same answer and changes nothing (no second history entry, no second event),
and the same key with another change is refused (:class:`KeyReused`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from functions.domain.requests.events import request_event
from functions.domain.requests.records import HistoryEntry, Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import Conflict, RequestStore
from functions.domain.requests.views import state_view
from functions.platform import clock
from functions.platform.catalog import get_catalog
from functions.platform.dedup_store import DedupStore
from functions.platform.observability import logger
from functions.platform.settings import get_settings
from schemas.event_types import SLA_BREACHED, STATUS_CHANGED
from schemas.lifecycle import BY_CITIZEN_ONLY, CLOSED, Status, can_transition

_UPDATE_RETRIES = 3
MAX_IDEMPOTENCY_KEY = 128  # characters (the contract's limit)


class NotFound(Exception):
    """No such request for this agency (or no such request at all: the same answer)."""


class Refused(Exception):
    """The lifecycle does not allow the change, or the request kept changing meanwhile."""


class KeyReused(Exception):
    """The same ``Idempotency-Key`` came with a different change."""


class Changed(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    """A change made (``record`` is the request after it), or replayed from its key."""

    answer: dict[str, Any]  # the state after the change: what the agency is answered
    previous: Status | None = None
    record: Request | None = None  # None when replayed
    replayed: bool = False


def _idempotency_id(agency: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"agency-status#{agency}#{digest}"


def _fingerprint(
    reference: str, status: Status, note: str | None, expected_at: datetime | None
) -> str:
    change = [reference, status.value, note, clock.iso(expected_at) if expected_at else None]
    return hashlib.sha256(json.dumps(change).encode("utf-8", "surrogatepass")).hexdigest()


def _replay(dedup: DedupStore, key_id: str, fingerprint: str) -> Changed | None:
    prior = dedup.get(key_id)
    if prior is None:
        return None
    if prior.get("fingerprint") != fingerprint:
        raise KeyReused("this Idempotency-Key was used for another change")
    return Changed(answer=json.loads(prior["answer"]), replayed=True)


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
    idempotency_key: str | None = None,
    store: RequestStore | None = None,
) -> Changed:
    """Move the agency's request to ``status``; store the change with its ``status_changed``
    event. Raises :class:`NotFound`, :class:`Refused` or :class:`KeyReused`.

    With ``idempotency_key`` a change already made under that key is answered again from the
    idempotency table and nothing changes."""
    store = store or RequestStore()
    dedup = DedupStore() if idempotency_key else None
    key_id = _idempotency_id(agency, idempotency_key) if idempotency_key else ""
    fingerprint = _fingerprint(reference, status, note, expected_at)
    for _ in range(_UPDATE_RETRIES):
        if dedup is not None and (replayed := _replay(dedup, key_id, fingerprint)):
            return replayed
        record = agency_request(agency, reference, store)
        current = Status(record["status"])
        if status in BY_CITIZEN_ONLY:  # reopening is the citizen's (requests.reopen)
            raise Refused(f"only the citizen may move a request to {status.value}")
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
        answer = state_view(updated)
        also: tuple[dict[str, Any], ...] = ()
        if dedup is not None:  # the answer is kept in the change's own transaction
            ttl = get_settings().dedup_ttl_days * 24 * 3600
            also = (
                dedup.put_new(
                    key_id,
                    ttl,
                    reference=reference,
                    fingerprint=fingerprint,
                    answer=json.dumps(answer, ensure_ascii=False, default=str),
                ),
            )
        try:
            store.update(reference, record["version"], changes, dict(entry), event, also)
        except Conflict:
            continue  # changed meanwhile (or the key was used meanwhile): look again
        logger.info(
            "status changed",
            extra={"reference": reference, "from": current.value, "to": status.value},
        )
        return Changed(answer, current, updated)
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

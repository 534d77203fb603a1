"""Reopening: the citizen says a ``resolved`` request is not done.

``resolved`` → ``reopened`` by the citizen only (an agency asking for it gets 409), within the
service's reopen window (catalog ``reopen_days``, counted from the last resolution), at most
:data:`MAX_REOPENS` times per request and once a day. The change is stored with its
``status_changed`` event (status ``reopened``: the agency hears of it like any other change)
in one transaction; the SLA clock starts again (a new expected date, the request back in the
deadline index, its late flag and retention expiry gone). The history names the channel
(``citizen:sms``, ``citizen:app``, ``citizen:web``), never the person, and keeps the citizen's
reason as its note (control characters stripped, cut to the usual length); the event carries
that note scrubbed of personal values, as it does an agency's.
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime, timedelta
from typing import Any

from functions.domain.citizens.contacts import keyed_hash
from functions.domain.requests.events import request_event
from functions.domain.requests.lifecycle import Changed, Refused
from functions.domain.requests.records import HistoryEntry, Request
from functions.domain.requests.store import Conflict, RequestStore
from functions.domain.requests.views import state_view
from functions.platform import clock
from functions.platform.catalog import get_catalog
from functions.platform.observability import logger
from schemas.event_types import STATUS_CHANGED
from schemas.lifecycle import Status
from schemas.text import MAX_TEXT, strip_control  # not schemas.request: no pydantic here

WEB_TOKEN_SECONDS = 30 * 60  # the status page's reopen form, after the one-time code
MAX_REOPENS = 3  # then a new request: a case that keeps coming back is a new problem
CHANNELS = frozenset({"sms", "app", "web"})
_RETRIES = 3


class ReopenRefused(Refused):
    """Not reopened: ``reason`` is ``not_resolved``, ``window_passed``, ``too_often`` or
    ``once_a_day``; ``values`` fill the citizen's explanation."""

    def __init__(self, reason: str, **values: str) -> None:
        super().__init__(f"the request cannot be reopened: {reason}")
        self.reason = reason
        self.values = values


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def clean_note(note: str | None) -> str | None:
    """The citizen's reason as kept: control characters stripped, one line of spaces, cut."""
    text = " ".join(strip_control(note or "").split())[:MAX_TEXT]
    return text or None


def resolved_at(record: Request) -> datetime:
    """When the request was last resolved (its last ``resolved`` history entry)."""
    entries = [h for h in record.get("history", []) if h.get("status") == Status.RESOLVED]
    return _at(entries[-1]["at"] if entries else record["updated_at"])


def check(record: Request, now: datetime) -> None:
    """Raise :class:`ReopenRefused` unless the citizen may reopen ``record`` now."""
    reference = record["reference"]
    if record["status"] != Status.RESOLVED:
        raise ReopenRefused("not_resolved", reference=reference, status=record["status"])
    service = get_catalog().service(record["service_code"])
    days = service.reopen_days if service else 30
    if now > resolved_at(record) + timedelta(days=days):
        raise ReopenRefused("window_passed", reference=reference, days=str(days))
    reopens = [h for h in record.get("history", []) if h.get("status") == Status.REOPENED]
    if len(reopens) >= MAX_REOPENS:
        raise ReopenRefused("too_often", reference=reference, count=str(len(reopens)))
    if reopens and now - _at(reopens[-1]["at"]) < timedelta(days=1):
        raise ReopenRefused("once_a_day", reference=reference)


def reopen(
    record: Request, channel: str, note: str | None, store: RequestStore | None = None
) -> Changed:
    """Reopen the citizen's own ``record`` (the caller has checked it is theirs) from
    ``channel``; raises :class:`ReopenRefused` (and :class:`Refused` when it kept changing)."""
    store = store or RequestStore()
    note = clean_note(note)
    for _ in range(_RETRIES):
        now = clock.now()
        check(record, now)
        at = clock.iso(now)
        service = get_catalog().service(record["service_code"])
        expected = clock.iso(now + timedelta(days=service.sla_days if service else 14))
        changes: dict[str, Any] = {
            "status": Status.REOPENED.value,
            "updated_at": at,
            "expected_at": expected,
            "due": "open",  # back in the deadline index: the SLA clock starts again
        }
        entry: HistoryEntry = {
            "status": Status.REOPENED.value,
            "at": at,
            "by": f"citizen:{channel}",
        }
        if note:
            entry["note"] = note
        updated: Request = {
            **record,
            **changes,  # type: ignore[typeddict-item]
            "history": [*record.get("history", []), entry],
            "version": record["version"] + 1,
        }
        updated.pop("expires_at", None)
        updated.pop("sla_breached_at", None)
        event = request_event(
            STATUS_CHANGED, updated, at, previous_status=Status.RESOLVED.value, note=note
        )
        try:
            store.update(
                record["reference"],
                record["version"],
                changes,
                dict(entry),
                event,
                remove=("expires_at", "sla_breached_at"),
            )
        except Conflict:
            fresh = store.get(record["reference"])
            if fresh is None:
                break
            record = fresh
            continue
        logger.info("request reopened", extra={"reference": record["reference"], "by": channel})
        return Changed(state_view(updated), Status.RESOLVED, updated)
    raise Refused("the request changed meanwhile; read it and try again")


# -- the web status page's reopen form ------------------------------------------------------
def _web_signature(reference: str, version: int, ends: int) -> str:
    return keyed_hash(f"reopen:{reference}:{version}:{ends}")[:32]


def web_token(record: Request) -> str:
    """What the status page's reopen form carries after a right one-time code: the request's
    version, an end and an HMAC over them, so it works only for this request, for
    :data:`WEB_TOKEN_SECONDS`, and only until the request changes (single use)."""
    ends = int(time.time()) + WEB_TOKEN_SECONDS
    version = record["version"]
    return f"{version}.{ends}.{_web_signature(record['reference'], version, ends)}"


def web_token_valid(record: Request, token: str) -> bool:
    version, _, rest = token.partition(".")
    ends, _, signature = rest.partition(".")
    if not (version.isdigit() and ends.isdigit() and len(signature) == 32):
        return False
    if int(version) != record["version"] or int(ends) <= int(time.time()):
        return False
    expected = _web_signature(record["reference"], int(version), int(ends))
    return hmac.compare_digest(signature, expected)

"""Me too: a filing that repeats an open request follows it instead of filing again.

"Same place" is deliberately narrow, because a false merge hides a real problem: the same
service, and the same street address after normalising only how it is written (letter case,
spaces, punctuation, the ``g.``/``v.`` abbreviations of ``gatan``/``vägen``, ``5 A`` = ``5a``).
An address without a house number (a whole street) is never merged, nor are different numbers
or letters (``5`` and ``5a`` are different doors). Coordinates are not kept by the bus (open
data is no finer than the street), so no distance rule. Only services whose catalog entry has a
``duplicate_days`` window and a location attribute that is not personal take part, and only
requests still open and filed within that window.

What a duplicate's filer learns is the reference and its public status: nothing about who
filed it. One citizen follows a request once (a retry counts nothing), and a request takes at
most :data:`MAX_FOLLOWERS` followers (more still get the answer but are not counted or told).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.events import request_event
from functions.domain.requests.records import Request
from functions.domain.requests.store import RequestStore
from functions.platform import clock
from schemas.catalog import Service
from schemas.channels import Channel
from schemas.event_types import SUPPORTED
from schemas.request import NewRequest

MAX_FOLLOWERS = 100
# Written abbreviations (with their period): "Storg." and "Storgat." are "Storgatan".
_ABBREVIATIONS = (
    (re.compile(r"\b(\w{2,}?)(?:g|gat)\."), r"\1gatan"),
    (re.compile(r"\b(\w{2,}?)(?:v|väg)\."), r"\1vägen"),
)
_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise_place(address: str) -> str | None:
    """The address as compared, or None when it names no door (no house number)."""
    text = unicodedata.normalize("NFKC", address).casefold()
    for pattern, full in _ABBREVIATIONS:
        text = pattern.sub(full, text)
    text = re.sub(r"(\d)\s+([a-zåäö])\b", r"\1\2", text)  # "5 A" → "5a"
    words = [w for w in _WORD.split(text) if w]
    if not any(ch.isdigit() for w in words for ch in w):
        return None
    return " ".join(words)


def place_key(service: Service, attributes: dict[str, str]) -> str | None:
    """The ``by-place`` index key of a filing (a keyed hash of service and place), or None
    when the service takes no duplicates or the place is not precise enough."""
    place = service.place_attribute
    if not service.duplicate_days or place is None or place.personal:
        return None
    normal = normalise_place(attributes.get(place.code, ""))
    if normal is None:
        return None
    return "plc_" + pseudonym("place", f"{service.service_code}\n{normal}")[4:]


class Followed(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    """A duplicate: the open request it repeats, and whether this filing was counted."""

    record: Request
    counted: bool
    seen: bool = False  # the filing's message id was used before (a retry): nothing written


def find_open(store: RequestStore, service: Service, key: str, now: datetime) -> Request | None:
    since = clock.iso(now - timedelta(days=service.duplicate_days))
    return store.open_at_place(key, since)


def follow(
    original: Request,
    request: NewRequest,
    *,
    channel: Channel,
    citizen: str,
    store: RequestStore,
    now: datetime,
    also: list[dict[str, Any]],
    dedup: dict[str, Any] | None = None,
) -> Followed | None:
    """Make ``citizen`` a follower of ``original`` and queue one ``supported`` event.

    None when the original closed meanwhile, or is the citizen's own (the caller files a new
    request: someone who reports the same place twice means two things). ``dedup`` is the
    filing's conditional message-id item (a retry is ``seen``); ``also`` more items written
    with it (:class:`~functions.domain.requests.store.Refused` when one fails its condition)."""
    if original["citizen"] == citizen:
        return None
    citizens = CitizenStore(store.client)
    contact = request.contact.model_dump(exclude_none=True) if request.contact else {}
    follower = {
        "channel": channel,
        "contact": contact,
        "language": request.language,
        "notify_by": request.notify_by or "none",
        "consent": request.consent,
    }
    record: Request | None = original
    for _ in range(5):
        if record is None or record["status"] in ("resolved", "rejected"):
            return None
        count = int(record.get("supporters") or 0) + 1
        if count > MAX_FOLLOWERS:
            return Followed(record, counted=False)
        event = request_event(SUPPORTED, record, clock.iso(now), supporters=count)
        put = citizens.follower_put(record["reference"], citizen, follower)
        outcome = store.follow(record, put, event, also, dedup)
        if outcome == "followed":
            counted: Request = {**record, "supporters": count}
            return Followed(counted, counted=True)
        if outcome == "already":
            return Followed(record, counted=False)
        if outcome == "seen":
            return Followed(record, counted=False, seen=True)
        record = store.get(record["reference"])
    raise RuntimeError("could not count the supporter")


def public_answer(record: Request) -> dict[str, Any]:
    """What a duplicate's filer is told: the reference and its public status, nothing of who
    filed it or what they wrote."""
    return {
        "duplicate_of": record["reference"],
        "reference": record["reference"],
        "service_code": record["service_code"],
        "status": record["status"],
        "supporters": int(record.get("supporters") or 0),
    }

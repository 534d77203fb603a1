"""Timestamps as the bus writes them: UTC, ISO 8601 with a ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None = None, timespec: str = "seconds") -> str:
    """``2026-11-30T07:24:06Z``: naive datetimes are taken as UTC."""
    moment = moment or now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def iso_ms(moment: datetime | None = None) -> str:
    """The same with milliseconds (ledgers and message statuses, where order within a second
    matters)."""
    return iso(moment, "milliseconds")


def parse(value: str) -> datetime:
    """An ISO 8601 timestamp (``Z`` or an offset) as an aware datetime."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

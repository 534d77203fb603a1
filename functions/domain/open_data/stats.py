"""Anonymized aggregates for open data: daily counts by service, channel and status.

One grain only (day x service x channel x current status). A cell with fewer requests than
the suppression threshold keeps its keys but has ``count`` and every measure set to null and
``suppressed`` true (it holds between 1 and threshold-1 requests). The same rows are served as
JSON and CSV, and exported to S3 on a schedule.

What suppression protects, precisely: only that this file does not show a small count or a
measure over fewer than the threshold's requests. A withheld count can be recovered: Open311
publishes every request (service, day filed, open/closed), so one withheld cell of a day and
service is Open311's count for that day and service minus the published cells, and dated daily
copies differ by the requests that changed status between them. Citizens are protected by what
no cell holds (contact details, personal attributes, free text, location), not by the threshold
(docs/open-data.md says the same).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.domain.open_data import journey
from functions.domain.requests.records import Request
from functions.domain.requests.store import RequestStore
from functions.platform import aws, process
from functions.platform.clock import iso
from functions.platform.settings import get_settings
from schemas.lifecycle import CLOSED, Status
from schemas.open_data import JourneyRow, Stats, StatsRow

if TYPE_CHECKING:
    from pydantic import BaseModel

PREFIX = "open-data/v1"
JSON_KEY = f"{PREFIX}/stats.json"
CSV_KEY = f"{PREFIX}/stats.csv"
COLUMNS = tuple(StatsRow.model_fields)
JOURNEY_KEY = f"{PREFIX}/journey.csv"
JOURNEY_COLUMNS = tuple(JourneyRow.model_fields)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def closed_at(record: Request) -> datetime | None:
    """When the request was closed (its first move to a closed status), or None."""
    if Status(record["status"]) not in CLOSED:
        return None
    for entry in record.get("history", []):
        if entry.get("status") in CLOSED:
            return _at(entry["at"])
    return _at(record["updated_at"])


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation between closest ranks (inclusive)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def compute(
    records: Iterable[Request],
    start: datetime,
    end: datetime,
    threshold: int,
    now: datetime | None = None,
    verdicts: Iterable[dict[str, Any]] = (),
) -> Stats:
    """Aggregate ``records`` into suppressed daily cells and monthly journey rows."""
    now = now or datetime.now(UTC)
    records = list(records)
    cells: dict[tuple[str, str, str, str], list[Request]] = defaultdict(list)
    for record in records:
        key = (record["submitted_at"][:10], record["service_code"], record["channel"])
        cells[(*key, record["status"])].append(record)
    rows = []
    for (day, code, channel, status), members in sorted(cells.items()):
        count = len(members)
        if count < threshold:
            rows.append(
                StatsRow(
                    date=day,
                    service_code=code,
                    channel=channel,
                    status=status,
                    count=None,
                    median_resolution_hours=None,
                    p90_resolution_hours=None,
                    sla_breach_rate=None,
                    suppressed=True,
                )
            )
            continue
        hours: list[float] = []
        breached = 0
        for record in members:
            closed = closed_at(record)
            if closed is not None:
                hours.append((closed - _at(record["submitted_at"])).total_seconds() / 3600)
            if (closed or now) > _at(record["expected_at"]):
                breached += 1
        rows.append(
            StatsRow(
                date=day,
                service_code=code,
                channel=channel,
                status=status,
                count=count,
                median_resolution_hours=round(statistics.median(hours), 1) if hours else None,
                p90_resolution_hours=round(percentile(hours, 0.9), 1) if hours else None,
                sla_breach_rate=round(breached / count, 3),
                suppressed=False,
            )
        )
    return Stats(
        generated_at=iso(now),
        start_date=start.date().isoformat(),
        end_date=end.date().isoformat(),
        suppression_threshold=threshold,
        rows=rows,
        journey=journey.compute(records, verdicts, threshold, now),
    )


def window(now: datetime) -> tuple[datetime, datetime]:
    """The aggregates' window: from midnight ``OPEN_DATA_DAYS`` days back (UTC) to ``now``."""
    days = get_settings().open_data_days
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, now


def current(now: datetime | None = None, deadline: float | None = None) -> Stats:
    """The aggregates over the configured window, read from the requests table
    (:class:`NotExported` when the read is still going at ``deadline``, a monotonic time)."""
    settings = get_settings()
    start, now = window(now or datetime.now(UTC))
    store = RequestStore()
    records = _until(deadline, store.submitted_between(start, now))
    threshold = settings.open_data_suppression
    return compute(records, start, now, threshold, now, verdicts_between(store, start, now))


def verdicts_between(
    store: RequestStore, start: datetime, end: datetime, first_filed: str | None = ""
) -> list[dict[str, Any]]:
    """The citizens' answered verdicts on requests submitted in the window, each counted in
    its request's submission month (the verdict store keeps no citizen id). One index query
    per month a question may have been asked in (from the window's start to its end).

    ``first_filed``: the earliest submission month (``YYYY-MM``) of the window's requests,
    when the caller has read them (None: there are none). A question is asked after its
    request was filed, and a verdict counts only in a month, service and channel that has
    requests, so the months before it can hold no verdict that counts: they are not read
    (the default, ``""``, reads every month)."""
    from functions.domain.verdicts.store import VerdictStore  # noqa: PLC0415 - only for the KPIs

    del store  # the verdicts have a table of their own
    verdicts = VerdictStore()
    first, last = (start.year, start.month), (end.year, end.month)
    months = []
    year, month = first
    while (year, month) <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    wanted = set(months)
    found = []
    for asked in months:
        if first_filed is None or asked < first_filed:
            continue
        for item in verdicts.of_month(asked):
            submitted = str(item.get("submitted_month") or "")
            if item.get("score") is not None and submitted in wanted:
                found.append(
                    {
                        "reference": item["reference"],
                        "service_code": item["service_code"],
                        "channel": item["channel"],
                        "month": submitted,
                        "score": int(item["score"]),
                    }
                )
    return found


# With no export yet the API aggregates the table on the read, for at most this long; a
# bigger table (after a backfill) gets 503 and Retry-After until the scheduled export has run,
# and the process does not try again for RETRY_AFTER_S (a stranger cannot make every read a
# long one).
INLINE_S = 3.0
RETRY_AFTER_S = 60


class NotExported(Exception):
    """No export yet, and the table is more than a read may aggregate: retry after the export."""


def _until(deadline: float | None, records: Iterator[Request]) -> Iterator[Request]:
    for n, record in enumerate(records):
        if deadline is not None and n % 100 == 0 and time.monotonic() > deadline:
            raise NotExported
        yield record


@process.once
def _gave_up() -> dict[str, float]:
    return {"until": 0.0}


def to_json(stats: Stats) -> str:
    return json.dumps(stats.model_dump(mode="json"), ensure_ascii=False, indent=1)


def to_csv(stats: Stats) -> str:
    """The rows as CSV (header first; null as an empty cell, booleans as true/false)."""
    return _csv(COLUMNS, stats.rows)


def journey_csv(stats: Stats) -> str:
    """The journey KPIs as CSV, in the same form."""
    return _csv(JOURNEY_COLUMNS, stats.journey)


def _csv(columns: tuple[str, ...], rows: Sequence[BaseModel]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        values = row.model_dump()
        writer.writerow(
            [
                ("true" if v else "false") if isinstance(v, bool) else ("" if v is None else v)
                for v in (values[c] for c in columns)
            ]
        )
    return out.getvalue()


def publish(stats: Stats) -> list[str]:
    """Write ``stats.json`` and ``stats.csv`` (latest, and a dated copy) to the bucket."""
    bucket = get_settings().open_data_bucket
    day = stats.generated_at[:10]
    files = {
        JSON_KEY: (to_json(stats), "application/json; charset=utf-8"),
        CSV_KEY: (to_csv(stats), "text/csv; charset=utf-8"),
        JOURNEY_KEY: (journey_csv(stats), "text/csv; charset=utf-8"),
    }
    written = []
    for key, (body, kind) in files.items():
        for target in (key, key.replace(f"{PREFIX}/", f"{PREFIX}/daily/{day}/")):
            aws.s3().put_object(
                Bucket=bucket,
                Key=target,
                Body=body.encode("utf-8"),
                ContentType=kind,
                CacheControl="public, max-age=300",
            )
            written.append(target)
    return written


def published() -> Stats | None:
    """The last exported aggregates, or None before the first export."""
    s3 = aws.s3()
    try:
        body = s3.get_object(Bucket=get_settings().open_data_bucket, Key=JSON_KEY)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return Stats.model_validate_json(body)


def latest() -> Stats:
    """What the API serves: the last export, made now if there is none yet (if that takes
    no longer than :data:`INLINE_S`; else :class:`NotExported`)."""
    stats = published()
    if stats is None:
        gave_up = _gave_up()
        if time.monotonic() < gave_up["until"]:
            raise NotExported
        try:
            stats = current(deadline=time.monotonic() + INLINE_S)
        except NotExported:
            gave_up["until"] = time.monotonic() + RETRY_AFTER_S
            raise
        publish(stats)
    return stats

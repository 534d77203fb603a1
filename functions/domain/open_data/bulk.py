"""Bulk open data: the public request records as per-day and per-year files, with a dictionary.

Written by the scheduled export (``functions/open_data/export.py``) to the open-data bucket::

    open-data/v1/bulk/days/YYYY/YYYY-MM-DD.{csv,jsonl}   one UTC day of submission
    open-data/v1/bulk/years/YYYY.{csv,jsonl}             the year's day files, concatenated
    open-data/v1/bulk/dictionary.{json,md}               every column, its values and privacy
    open-data/v1/bulk/manifest.json                      every file: size, rows, date range, sha256
    open-data/v1/bulk/summary.json                       the last 12 months by month (the page)

One row per request, through the same privacy rules as Open311 (``privacy.py``): no contact
details, no personal attributes, the street at most, and no free text at all (a final day file
is never rewritten, so an erasure could not reach a description in it; Open311 serves the
scrubbed text live). The channel is withheld (empty) where the aggregates would withhold it:
when fewer than ``OPEN_DATA_SUPPRESSION`` requests of that day and service came by it.

Incremental: the manifest remembers every day exported and whether it is *final* (ended at
least ``GRACE_DAYS`` ago with every request closed, or ended more than ``FINAL_AFTER_DAYS``
ago). A run reads from the table only the days not final yet (one month-index query per
month they span), writes a file only when its bytes change, and rebuilds a year (from the day
files in S3, never the table) only when one of its days changed. Re-running is a no-op.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any, NamedTuple

from functions.domain.open_data.privacy import public_address
from functions.domain.open_data.stats import closed_at, percentile
from functions.domain.requests.records import Request
from functions.domain.requests.store import RequestStore
from functions.platform import aws
from functions.platform.clock import iso
from functions.platform.settings import get_settings
from schemas.catalog import Catalog
from schemas.channels import CHANNELS
from schemas.lifecycle import Status

PREFIX = "open-data/v1/bulk"
MANIFEST = "manifest.json"
SUMMARY = "summary.json"
GRACE_DAYS = 2  # late arrivals (a queued SMS, a retried filing) land within this
FINAL_AFTER_DAYS = 90  # a day older than this is final even with requests still open
MONTHS_SHOWN = 12
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
}


class Column(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    name: str
    type: str  # string | date | datetime | number | boolean
    meaning: str
    values: str  # the allowed values, said plainly
    privacy: str


def columns(catalog: Catalog) -> tuple[Column, ...]:
    """The columns of every bulk file, in order (the CSV header and the JSON Lines keys)."""
    codes = ", ".join(s.service_code for s in catalog.services)
    agencies = ", ".join(a.id for a in catalog.agencies)
    statuses = ", ".join(s.value for s in Status)
    threshold = get_settings().open_data_suppression
    public = "Public in Open311 too; not personal."
    return (
        Column(
            "service_request_id",
            "string",
            "The request's reference (Open311 service_request_id).",
            "digits",
            public,
        ),
        Column(
            "requested_date",
            "date",
            "UTC day the request was submitted; the day file it is in.",
            "YYYY-MM-DD",
            public,
        ),
        Column(
            "requested_datetime", "datetime", "When it was submitted (UTC).", "ISO 8601, Z", public
        ),
        Column("service_code", "string", "The service asked for.", codes, public),
        Column("agency", "string", "The agency responsible.", agencies, public),
        Column(
            "channel",
            "string",
            "The channel it was filed on.",
            ", ".join(CHANNELS) + ", or empty (withheld)",
            f"Withheld (empty) when fewer than {threshold} requests of that day and service "
            "came by that channel, as the aggregates withhold small cells.",
        ),
        Column(
            "status",
            "string",
            "Lifecycle status when the day file was written.",
            statuses,
            public,
        ),
        Column("open311_status", "string", "The Open311 status.", "open, closed", public),
        Column(
            "expected_datetime",
            "datetime",
            "When the service's SLA expects it done (UTC).",
            "ISO 8601, Z",
            public,
        ),
        Column(
            "closed_datetime",
            "datetime",
            "First move to resolved or rejected (UTC); empty while open.",
            "ISO 8601, Z, or empty",
            "Not personal.",
        ),
        Column(
            "resolution_hours",
            "number",
            "Hours from submission to closed_datetime, two decimals; empty while open.",
            ">= 0, or empty",
            "Not personal.",
        ),
        Column(
            "within_sla",
            "boolean",
            "Closed by expected_datetime (true) or not, or still open past it (false); empty "
            "while open and not yet due.",
            "true, false, or empty",
            "Not personal.",
        ),
        Column(
            "street",
            "string",
            "The street of the request's location attribute.",
            "a street name, or empty",
            "No house number, entrance, floor, apartment, postcode or coordinates; empty when "
            "the location is a personal attribute (a home address) or there is none.",
        ),
    )


def column_names(catalog: Catalog) -> tuple[str, ...]:
    return tuple(c.name for c in columns(catalog))


# -- rows ------------------------------------------------------------------------------------
def _hours(start: str, end: datetime) -> float:
    submitted = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return round((end - submitted).total_seconds() / 3600, 2)


def public_row(record: Request, catalog: Catalog, now: datetime, channel: str) -> dict[str, Any]:
    """One request as a bulk row (JSON types: null, bool, number, string)."""
    service = catalog.service(record["service_code"])
    closed = closed_at(record)
    expected = datetime.fromisoformat(record["expected_at"].replace("Z", "+00:00"))
    within: bool | None = closed <= expected if closed else (False if now > expected else None)
    return {
        "service_request_id": record["reference"],
        "requested_date": record["submitted_at"][:10],
        "requested_datetime": record["submitted_at"],
        "service_code": record["service_code"],
        "agency": record["agency"],
        "channel": channel or None,
        "status": record["status"],
        "open311_status": Status(record["status"]).open311,
        "expected_datetime": record["expected_at"],
        "closed_datetime": iso(closed) if closed else None,
        "resolution_hours": _hours(record["submitted_at"], closed) if closed else None,
        "within_sla": within,
        "street": _plain(public_address(service, record) if service else None),
    }


# What a spreadsheet would run as a formula at the start of a cell (CSV injection): a street
# name never starts so, and a filed address could.
_FORMULA = "=+-@\t\r"


def _plain(text: str | None) -> str | None:
    """``text`` without leading formula characters (the same in CSV and JSON Lines)."""
    return (text or "").lstrip(_FORMULA + " ") or None


def day_rows(
    records: Iterable[Request], catalog: Catalog, now: datetime, threshold: int
) -> list[dict[str, Any]]:
    """The rows of one day's requests, oldest first, channels withheld in small cells."""
    ordered = sorted(records, key=lambda r: (r["submitted_at"], r["reference"]))
    cells = Counter((r["service_code"], r["channel"]) for r in ordered)
    return [
        public_row(
            r,
            catalog,
            now,
            r["channel"] if cells[(r["service_code"], r["channel"])] >= threshold else "",
        )
        for r in ordered
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def to_csv(rows: list[dict[str, Any]], names: tuple[str, ...], header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(row[n]) for n in names])
    return out.getvalue()


def to_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)


# -- the dictionary --------------------------------------------------------------------------
def dictionary(catalog: Catalog) -> dict[str, Any]:
    settings = get_settings()
    return {
        "title": "citizenbus bulk open data: public request records",
        "description": (
            "One row per request, per UTC day of submission (days/) and per year (years/), "
            "the same rows in CSV (header first; null as an empty cell; booleans true/false) "
            "and JSON Lines (one object per line, null for empty). No contact details, no "
            "personal attributes, no free text, locations no finer than the street."
        ),
        "suppression_threshold": settings.open_data_suppression,
        "final_after_days": FINAL_AFTER_DAYS,
        "columns": [c._asdict() for c in columns(catalog)],
    }


def dictionary_markdown(catalog: Catalog) -> str:
    data = dictionary(catalog)
    lines = [f"# {data['title']}", "", data["description"], ""]
    lines += ["| column | type | meaning | allowed values | privacy |", "|---|---|---|---|---|"]
    for c in columns(catalog):
        cells = (f"`{c.name}`", c.type, c.meaning, c.values, c.privacy)
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"


# -- where the files are ---------------------------------------------------------------------
def key_of(name: str) -> str | None:
    """The bucket key of a public file name (``2026-03-01.csv``, ``2026.jsonl``,
    ``dictionary.md``, ``manifest.json``); None for any other name."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return None
    if name in ("dictionary.json", "dictionary.md", MANIFEST, SUMMARY):
        return f"{PREFIX}/{name}"
    if ext not in ("csv", "jsonl"):
        return None
    if len(stem) == 10 and _is_date(stem):
        return f"{PREFIX}/days/{stem[:4]}/{name}"
    if len(stem) == 4 and stem.isdigit():
        return f"{PREFIX}/years/{name}"
    return None


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return text[4] == "-"


def content_type(name: str) -> str:
    return CONTENT_TYPES[name.rpartition(".")[2]]


# -- the manifest ----------------------------------------------------------------------------
@dataclass
class Manifest:
    """What was exported: each day's state, each public file's size, rows and checksum."""

    generated_at: str = ""
    days: dict[str, dict[str, Any]] = field(default_factory=dict)  # date → {rows, final}
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → file info

    def to_json(self) -> str:
        body = {"generated_at": self.generated_at, "files": self.files, "days": self.days}
        return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(data.get("generated_at", ""), data.get("days", {}), data.get("files", {}))


def _read(key: str) -> str | None:
    s3 = aws.s3()
    try:
        body = s3.get_object(Bucket=get_settings().open_data_bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body.decode("utf-8")


def manifest() -> Manifest | None:
    """The last export's manifest, or None before the first bulk export."""
    text = _read(f"{PREFIX}/{MANIFEST}")
    return Manifest.from_json(text) if text is not None else None


def settled_empty(state: Manifest, first: date, today: date) -> set[str]:
    """The months (``YYYY-MM``) whose days from ``first`` to ``today`` the manifest knows as
    final with no request: nothing can be filed into such a day any more (a late arrival
    lands within ``GRACE_DAYS``; a backfill is followed by a ``rebuild``), so the export does
    not query them again every hour. Today is never final, so its month is always read."""
    months: dict[str, bool] = {}
    day = first
    while day <= today:
        info = state.days.get(day.isoformat(), {})
        month = day.isoformat()[:7]
        months[month] = months.get(month, True) and bool(info.get("final")) and not info.get("rows")
        day += timedelta(days=1)
    return {month for month, settled in months.items() if settled}


def summary() -> dict[str, Any] | None:
    text = _read(f"{PREFIX}/{SUMMARY}")
    return json.loads(text) if text is not None else None


# -- the export ------------------------------------------------------------------------------
@dataclass
class Run:
    """One export run: what it read and wrote."""

    days_read: int = 0
    records_read: int = 0
    written: list[str] = field(default_factory=list)
    unfinished: bool = False  # stopped for time; the next run goes on


class _Writer:
    def __init__(self, state: Manifest, now: datetime, run: Run) -> None:
        self.state, self.now, self.run = state, now, run
        self.bucket = get_settings().open_data_bucket

    def put(self, name: str, body: str, extra: dict[str, Any] | None = None) -> bool:
        """Write ``name`` unless the bucket already holds these bytes; True when written."""
        data = body.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        info = self.state.files.get(name)
        if info is not None and info.get("sha256") == digest:
            return False
        key = key_of(name)
        assert key is not None, name
        aws.s3().put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type(name),
            CacheControl="public, max-age=300",
        )
        self.state.files[name] = {"bytes": len(data), "sha256": digest, "updated_at": iso(self.now)}
        self.state.files[name] |= extra or {}
        self.run.written.append(key)
        return True

    def drop(self, name: str) -> None:
        if self.state.files.pop(name, None) is not None:
            key = key_of(name)
            assert key is not None
            aws.s3().delete_object(Bucket=self.bucket, Key=key)
            self.run.written.append(key)


def _chunks(days: list[date]) -> Iterator[list[date]]:
    """``days`` (sorted) in groups of one calendar month: one index query each."""
    group: list[date] = []
    for day in days:
        if group and (day.year, day.month) != (group[0].year, group[0].month):
            yield group
            group = []
        group.append(day)
    if group:
        yield group


def _read_month(days: list[date], run: Run) -> Iterator[tuple[date, list[Request]]]:
    """Each of ``days`` (all in one month) with its requests, one day in memory at a time:
    one ``by-month`` query (sorted by ``submitted_at``, so a day's requests come together)."""
    start = datetime.combine(days[0], time.min, UTC)
    end = datetime.combine(days[-1], time(23, 59, 59), UTC)
    wanted = {d.isoformat() for d in days}
    stream = RequestStore().submitted_between(start, end)
    for stem, group in groupby(stream, key=lambda r: r["submitted_at"][:10]):
        if stem in wanted:
            records = list(group)
            run.records_read += len(records)
            wanted.discard(stem)
            yield date.fromisoformat(stem), records
    for stem in sorted(wanted):  # the days without a request
        yield date.fromisoformat(stem), []


def _month_of(
    days: list[date], read: Mapping[str, list[Request]], run: Run
) -> Iterator[tuple[date, list[Request]]]:
    """:func:`_read_month` over requests read already (the export's one pass, by day), in
    the same order: the days with requests newest first, as the query streams them, then
    the days without."""
    stems = [d.isoformat() for d in days]
    for stem in sorted((s for s in stems if read.get(s)), reverse=True):
        records = read[stem]
        run.records_read += len(records)
        yield date.fromisoformat(stem), records
    for stem in stems:
        if not read.get(stem):
            yield date.fromisoformat(stem), []


def _final(day: date, rows: list[dict[str, Any]], today: date) -> bool:
    age = (today - day).days
    if age > FINAL_AFTER_DAYS:
        return True
    return age > GRACE_DAYS and all(r["open311_status"] == "closed" for r in rows)


# The export stops reading more months when less than this is left of its invocation; the
# days it did not reach stay pending and the next run goes on (a first run over a year of
# 100,000 requests may take several runs under a short Lambda timeout).
MARGIN_MS = 8_000


def export(
    catalog: Catalog,
    now: datetime | None = None,
    rebuild: bool = False,
    time_left_ms: Callable[[], int] | None = None,
    read: Mapping[str, list[Request]] | None = None,
    state: Manifest | None = None,
) -> Run:
    """Bring the bulk files up to date (see the module's docstring); ``rebuild`` rereads every
    day of the window, final or not (after a backfill such as ``citizenbus seed``). ``read``:
    the window's requests by day (``YYYY-MM-DD``), read already by the caller (the export's
    one pass, ``export.py``); without it each month of pending days is queried here.
    ``state``: the manifest, read already by the caller (else read here)."""
    settings = get_settings()
    now = now or datetime.now(UTC)
    today = now.date()
    state = state or manifest() or Manifest()
    days_before = json.dumps(state.days, sort_keys=True)
    run = Run()
    writer = _Writer(state, now, run)
    names = column_names(catalog)
    header = to_csv([], names)

    first = today - timedelta(days=settings.open_data_days)
    window = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    pending = [d for d in window if rebuild or not state.days.get(d.isoformat(), {}).get("final")]

    fresh: dict[str, tuple[str, str]] = {}  # stem → (CSV body without header, JSON Lines)
    changed: set[str] = set()
    for month in _chunks(pending):
        if run.days_read and time_left_ms is not None and time_left_ms() < MARGIN_MS:
            run.unfinished = True
            break
        run.days_read += len(month)
        days = _read_month(month, run) if read is None else _month_of(month, read, run)
        for day, records in days:
            rows = day_rows(records, catalog, now, settings.open_data_suppression)
            stem = day.isoformat()
            state.days[stem] = {"rows": len(rows), "final": _final(day, rows, today)}
            if not rows:
                for ext in ("csv", "jsonl"):
                    if f"{stem}.{ext}" in state.files:
                        writer.drop(f"{stem}.{ext}")
                        changed.add(stem)
                continue
            body, lines = to_csv(rows, names, header=False), to_jsonl(rows)
            fresh[stem] = (body, lines)
            extra = {"rows": len(rows), "first_date": stem, "last_date": stem}
            wrote = writer.put(f"{stem}.csv", header + body, extra)
            if writer.put(f"{stem}.jsonl", lines, extra) or wrote:
                changed.add(stem)

    years: dict[int, str] = {}  # year → its JSON Lines, where this run built it
    for year in sorted({int(stem[:4]) for stem in changed}):
        built = _rebuild_year(
            year, min(s for s in changed if s.startswith(f"{year}-")), writer, header, fresh
        )
        if built is not None:
            years[year] = built

    writer.put("dictionary.json", json.dumps(dictionary(catalog), ensure_ascii=False, indent=1))
    writer.put("dictionary.md", dictionary_markdown(catalog))
    through = today.strftime("%Y-%m")  # a new month moves the 12 months shown
    if run.written or state.files.get(SUMMARY, {}).get("through") != through:
        recent = _recent_rows(today, state, years)
        figures = monthly(recent, today, settings.open_data_suppression)
        writer.put(SUMMARY, json.dumps(figures), {"through": through})
    if run.written or json.dumps(state.days, sort_keys=True) != days_before:
        state.generated_at = iso(now)  # (a day become final is remembered too)
        aws.s3().put_object(
            Bucket=settings.open_data_bucket,
            Key=f"{PREFIX}/{MANIFEST}",
            Body=state.to_json().encode("utf-8"),
            ContentType=CONTENT_TYPES["json"],
            CacheControl="public, max-age=300",
        )
        run.written.append(f"{PREFIX}/{MANIFEST}")
    return run


def _file_text(name: str) -> str:
    key = key_of(name)
    assert key is not None
    return _read(key) or ""


def _rebuild_year(
    year: int,
    first_changed: str,
    writer: _Writer,
    header: str,
    fresh: dict[str, tuple[str, str]],
) -> str | None:
    """``YYYY.csv`` and ``YYYY.jsonl``: the year's day files in date order, never read from
    the table. The part before the first changed day is kept from the last year file (when
    the manifest says it was built from these very day files), so a run that changed only
    the last days reads one year file and those days, not every day of the year. Returns the
    year's JSON Lines (None when the year has no rows left)."""
    state = writer.state
    days = sorted(
        stem
        for stem, info in state.days.items()
        if stem.startswith(f"{year}-") and info["rows"] and f"{stem}.csv" in state.files
    )
    if not days:
        writer.drop(f"{year}.csv")
        writer.drop(f"{year}.jsonl")
        return None
    parts = [
        [d, state.files[f"{d}.csv"]["sha256"], state.files[f"{d}.jsonl"]["sha256"]] for d in days
    ]
    kept = [p for p in parts if p[0] < first_changed]
    old = state.files.get(f"{year}.jsonl", {}).get("parts", [])
    texts: dict[str, str] = {}
    for ext, start in (("csv", header), ("jsonl", "")):
        prefix = ""
        if kept and old[: len(kept)] == kept:  # the last year file began with these days
            previous = _file_text(f"{year}.{ext}")
            info = state.files.get(f"{year}.{ext}", {})
            if hashlib.sha256(previous.encode()).hexdigest() == info.get("sha256"):
                size = sum(state.files[f"{p[0]}.{ext}"]["bytes"] for p in kept)
                size -= len(header.encode()) * len(kept) if ext == "csv" else 0
                size += len(start.encode())
                prefix = previous.encode()[:size].decode()
        chunks = [prefix or start]
        for stem in days[len(kept) if prefix else 0 :]:
            if stem in fresh:
                chunks.append(fresh[stem][0 if ext == "csv" else 1])
            else:
                text = _file_text(f"{stem}.{ext}")
                chunks.append(text.removeprefix(header) if ext == "csv" else text)
        texts[ext] = "".join(chunks)
    total = sum(state.days[d]["rows"] for d in days)
    extra: dict[str, Any] = {"rows": total, "first_date": days[0], "last_date": days[-1]}
    writer.put(f"{year}.csv", texts["csv"], extra)
    writer.put(f"{year}.jsonl", texts["jsonl"], extra | {"parts": parts})  # the days it holds
    return texts["jsonl"]


def _month(day: date, back: int) -> str:
    index = day.year * 12 + day.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _recent_rows(today: date, state: Manifest, built: dict[int, str]) -> list[dict[str, Any]]:
    """The rows of the last ``MONTHS_SHOWN`` months, from the year files (this run's or S3)."""
    since = _month(today, MONTHS_SHOWN - 1)
    rows: list[dict[str, Any]] = []
    for year in range(int(since[:4]), today.year + 1):
        if year in built:
            text = built[year]
        elif f"{year}.jsonl" in state.files:
            text = _file_text(f"{year}.jsonl")
        else:
            continue
        rows += [r for r in map(json.loads, text.splitlines()) if r["requested_date"] >= since]
    return rows


# -- the year by month (the page's charts) ---------------------------------------------------
def _shown(count: int, threshold: int) -> int | None:
    return count if count >= threshold else None


def monthly(rows: list[dict[str, Any]], today: date, threshold: int) -> dict[str, Any]:
    """The last ``MONTHS_SHOWN`` months of ``rows``: requests by service and by channel,
    median and p90 hours to close (of the requests submitted that month), and the share
    within SLA; a count or measure over fewer than ``threshold`` requests is null."""
    months = [_month(today, back) for back in range(MONTHS_SHOWN - 1, -1, -1)]
    by_service: dict[str, Counter[str]] = defaultdict(Counter)
    by_channel: dict[str, Counter[str]] = defaultdict(Counter)
    hours: dict[str, list[float]] = defaultdict(list)
    judged: Counter[str] = Counter()
    within: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in rows:
        month = row["requested_date"][:7]
        if month not in months:
            continue
        total[month] += 1
        by_service[row["service_code"]][month] += 1
        by_channel[row["channel"] or "withheld"][month] += 1
        if row["resolution_hours"] is not None:
            hours[month].append(float(row["resolution_hours"]))
        if row["within_sla"] is not None:
            judged[month] += 1
            within[month] += bool(row["within_sla"])

    def series(counts: dict[str, Counter[str]]) -> dict[str, list[int | None]]:
        return {k: [_shown(v[m], threshold) for m in months] for k, v in sorted(counts.items())}

    def measure(values: list[float], q: float | None) -> float | None:
        if len(values) < threshold:
            return None
        return round(statistics.median(values) if q is None else percentile(values, q), 1)

    return {
        "months": months,
        "suppression_threshold": threshold,
        "total": [_shown(total[m], threshold) for m in months],
        "by_service": series(by_service),
        "by_channel": series(by_channel),
        "closed": [_shown(len(hours[m]), threshold) for m in months],
        "median_resolution_hours": [measure(hours[m], None) for m in months],
        "p90_resolution_hours": [measure(hours[m], 0.9) for m in months],
        "sla_judged": [_shown(judged[m], threshold) for m in months],
        "within_sla_share": [
            round(within[m] / judged[m], 3) if judged[m] >= threshold else None for m in months
        ],
    }


def listing(state: Manifest) -> list[dict[str, Any]]:
    """The public files: years (newest first), the dictionary and manifest, then the days
    (newest first); each with its name, bytes, sha256 and, for data files, rows and dates."""
    files = [{"name": name} | info for name, info in state.files.items() if name != SUMMARY]
    files.sort(key=lambda f: f["name"].rpartition(".")[2])  # csv before jsonl, stable below
    files.sort(key=lambda f: f["name"].rpartition(".")[0], reverse=True)
    years = [f for f in files if kind(f["name"]) == "year"]
    days = [f for f in files if kind(f["name"]) == "day"]
    rest = sorted((f for f in files if kind(f["name"]) == "other"), key=lambda f: f["name"])
    return years + rest + days


def kind(name: str) -> str:
    """``day`` (``2026-03-01.csv``), ``year`` (``2026.jsonl``) or ``other``."""
    key = key_of(name) or ""
    return "day" if "/days/" in key else "year" if "/years/" in key else "other"

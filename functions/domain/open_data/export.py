"""The scheduled export in one pass over the window: aggregates, journey KPIs and bulk files.

The aggregates (``stats.py``, with the journey KPIs of ``journey.py``) cover the requests
submitted in the last ``OPEN_DATA_DAYS`` days; the bulk files (``bulk.py``) rewrite the days
of the same window that are not final yet. Each used to read its window from the table on its
own: at 100,000 stored the first export read the year twice (76 s; docs/performance.md). Here
the window is read once, one ``by-month`` query stream per month (the same one
``RequestStore.submitted_between`` reads), and every request read feeds both: the aggregates
take those submitted by ``now``, the bulk files the days they have pending (today's to its
end, as a bulk day always is). A month whose days of the window the bulk manifest knows as
final and empty is not queried again (an hourly export of a young deployment would otherwise
ask for twelve empty months every hour); after a backfill a ``rebuild`` reads them all. The
verdicts are read after it, one ``by-month`` query per
month from the first month with a request (a question is asked after its request was filed,
and a verdict counts only where there are requests; with a year of requests, every month).
What is written is byte for byte what the two reads wrote (``tests/test_open_data_export.py``
compares them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time

from functions.domain.open_data import bulk, stats
from functions.domain.requests.records import Request
from functions.domain.requests.store import RequestStore
from functions.platform.clock import iso
from functions.platform.settings import get_settings
from schemas.catalog import Catalog
from schemas.open_data import Stats


@dataclass
class Exported:
    """One export: the aggregates published, the files they were written to, the bulk run."""

    aggregates: Stats
    files: list[str]
    bulk: bulk.Run


def run(
    catalog: Catalog,
    now: datetime | None = None,
    rebuild: bool = False,
    time_left_ms: Callable[[], int] | None = None,
) -> Exported:
    """Read the window once; publish the aggregates, then bring the bulk files up to date
    (``rebuild`` and ``time_left_ms`` as in :func:`bulk.export`)."""
    settings = get_settings()
    now = now or datetime.now(UTC)
    start, end = stats.window(now)  # the bulk files' window: the same days, to today's end
    # the bulk files' last day ends at 23:59:59 (bulk.export's own query), never before now
    # to the second that the aggregates' query bound (``iso`` keeps seconds)
    through = datetime.combine(now.date(), time(23, 59, 59), UTC)
    state = bulk.manifest() or bulk.Manifest()  # read once: the bulk run below uses it too
    # months the manifest knows final and empty are not read again (``bulk.settled_empty``)
    settled = set() if rebuild else bulk.settled_empty(state, start.date(), now.date())
    store = RequestStore()
    by_day: dict[str, list[Request]] = defaultdict(list)
    aggregated: list[Request] = []
    last = iso(end)  # the aggregates stop at now, as their own query did
    for record in store.submitted_between(start, through, skip_months=settled):
        by_day[record["submitted_at"][:10]].append(record)
        if record["submitted_at"] <= last:
            aggregated.append(record)
    first_filed = min((r["submitted_at"][:7] for r in aggregated), default=None)
    verdicts = stats.verdicts_between(store, start, end, first_filed)
    aggregates = stats.compute(
        aggregated, start, end, settings.open_data_suppression, now, verdicts
    )
    files = stats.publish(aggregates)
    del aggregated
    done = bulk.export(catalog, now, rebuild, time_left_ms, read=by_day, state=state)
    return Exported(aggregates, files, done)

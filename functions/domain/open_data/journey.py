"""Journey KPIs for open data: what happens after filing, per month, service and channel.

One row per month of submission × service × channel, plus a roll-up per month × service over
all channels (``channel = "all"``, for the page's charts). Each row holds:

- ``requests``: requests submitted that month;
- time to first response: hours from submission to the first status change after
  ``received`` (median and 90th percentile, over the requests that have one);
- time to resolution: hours from submission to the first close (``resolved``/``rejected``),
  median and 90th percentile;
- ``within_sla_share``: of the requests whose outcome is known (closed, or open past their
  expected date), the share closed by their expected date;
- ``reopen_rate``: of the requests ever resolved, the share a citizen reopened (a history
  entry ``reopened``);
- ``followers``: citizens who reported the same thing and follow the request (me too);
- satisfaction: the mean of the 1–5 verdicts and how many answered (verdicts are kept without
  any citizen id: ``{"reference", "service_code", "channel", "month", "score"}``).

Suppression as in the daily cells: a row over fewer requests than the threshold keeps its keys
and withholds every figure (``suppressed`` true); the satisfaction mean and its answer count
are withheld on their own when fewer than the threshold answered. The channel roll-up can be
differenced against the published channel rows (as Open311 can for counts; docs/open-data.md):
what a withheld row hides is a small number, never a person.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from functions.domain.requests.records import Request
from schemas.lifecycle import CLOSED, Status
from schemas.open_data import JourneyRow

ALL = "all"
REOPENED = "reopened"


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _hours(start: str, end: str) -> float:
    return (_at(end) - _at(start)).total_seconds() / 3600


def first_response(record: Request) -> str | None:
    """When the request first left ``received`` (the agency's first response), or None."""
    for entry in record.get("history", [])[1:]:
        if entry.get("status") != Status.RECEIVED.value:
            return entry["at"]
    return None


def first_close(record: Request) -> str | None:
    """When the request was first closed, or None."""
    for entry in record.get("history", []):
        if entry.get("status") in CLOSED:
            return entry["at"]
    if record["status"] in CLOSED:  # a record without its history (imported)
        return record["updated_at"]
    return None


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation between closest ranks (inclusive)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _spread(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(statistics.median(values), 1), round(percentile(values, 0.9), 1)


def _row(
    key: tuple[str, str, str],
    members: list[Request],
    scores: list[int],
    threshold: int,
    now: datetime,
) -> JourneyRow:
    month, service, channel = key
    if len(members) < threshold:
        return JourneyRow(month=month, service_code=service, channel=channel, suppressed=True)
    firsts = [_hours(r["submitted_at"], at) for r in members if (at := first_response(r))]
    closes: list[float] = []
    known = within = resolved = reopened = 0
    for record in members:
        closed = first_close(record)
        if closed is not None:
            closes.append(_hours(record["submitted_at"], closed))
        due = _at(record["expected_at"])
        if closed is not None or now > due:
            known += 1
            within += closed is not None and _at(closed) <= due
        statuses = {h.get("status") for h in record.get("history", [])}
        if Status.RESOLVED.value in statuses:
            resolved += 1
            reopened += REOPENED in statuses
    answered = len(scores) >= threshold
    return JourneyRow(
        month=month,
        service_code=service,
        channel=channel,
        requests=len(members),
        median_first_response_hours=_spread(firsts)[0],
        p90_first_response_hours=_spread(firsts)[1],
        median_resolution_hours=_spread(closes)[0],
        p90_resolution_hours=_spread(closes)[1],
        within_sla_share=round(within / known, 3) if known else None,
        reopen_rate=round(reopened / resolved, 3) if resolved else None,
        followers=sum(int(r.get("supporters") or 0) for r in members),
        satisfaction_mean=round(statistics.fmean(scores), 2) if answered else None,
        satisfaction_answers=len(scores) if answered else None,
        suppressed=False,
    )


def compute(
    records: Iterable[Request],
    verdicts: Iterable[dict[str, Any]],
    threshold: int,
    now: datetime,
) -> list[JourneyRow]:
    """The journey rows of ``records`` (and the verdicts given on them), suppressed."""
    groups: dict[tuple[str, str, str], list[Request]] = defaultdict(list)
    for record in records:
        month = record["submitted_at"][:7]
        groups[(month, record["service_code"], record["channel"])].append(record)
        groups[(month, record["service_code"], ALL)].append(record)
    scores: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for verdict in verdicts:
        score = int(verdict["score"])
        if not 1 <= score <= 5:
            continue
        month, service = str(verdict["month"]), str(verdict["service_code"])
        scores[(month, service, str(verdict["channel"]))].append(score)
        scores[(month, service, ALL)].append(score)
    return [
        _row(key, members, scores.get(key, []), threshold, now)
        for key, members in sorted(groups.items())
    ]

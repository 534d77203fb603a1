"""Reading requests by time for open data: the ``by-month`` and ``by-service`` indexes.

Both indexes are sorted by ``submitted_at``; a window is read newest first, one month
partition (or one service partition) after another, so a page never reads more than it skips
plus what it returns.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from functions.domain.requests.store import RequestStore
from functions.platform.dynamo import from_item


def iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def months(start: datetime, end: datetime) -> list[str]:
    """The ``YYYY-MM`` partitions from ``end`` back to ``start`` (newest first)."""
    out: list[str] = []
    year, month = end.year, end.month
    while (year, month) >= (start.year, start.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


class RequestIndex(RequestStore):
    """Requests in a time window, newest first (read-only)."""

    def _query(
        self, index: str, key: str, value: str, start: str, end: str, statuses: Iterable[str]
    ) -> Iterator[dict[str, Any]]:
        wanted = sorted(set(statuses))
        args: dict[str, Any] = {
            "TableName": self.requests_table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :k AND submitted_at BETWEEN :start AND :end",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {
                ":k": {"S": value},
                ":start": {"S": start},
                ":end": {"S": end},
            },
            "ScanIndexForward": False,
        }
        if wanted:
            args["FilterExpression"] = "#s IN (" + ", ".join(f":s{i}" for i in range(len(wanted)))
            args["FilterExpression"] += ")"
            args["ExpressionAttributeNames"]["#s"] = "status"
            args["ExpressionAttributeValues"] |= {f":s{i}": {"S": s} for i, s in enumerate(wanted)}
        while True:
            response = self.client.query(**args)
            for item in response.get("Items", []):
                yield from_item(item)
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            args["ExclusiveStartKey"] = last

    def submitted_between(
        self,
        start: datetime,
        end: datetime,
        service_codes: Iterable[str] = (),
        statuses: Iterable[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Requests submitted in ``[start, end]``, newest first, lazily read."""
        lo, hi = iso(start), iso(end)
        statuses = tuple(statuses)
        codes = sorted(set(service_codes))
        if codes:
            streams = [
                self._query("by-service", "service_code", c, lo, hi, statuses) for c in codes
            ]
            yield from heapq.merge(*streams, key=lambda r: r["submitted_at"], reverse=True)
            return
        for month in months(start, end):
            yield from self._query("by-month", "submitted_month", month, lo, hi, statuses)

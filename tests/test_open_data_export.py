"""The scheduled export reads its window once and writes what two reads wrote.

``functions/domain/open_data/export.py`` feeds the aggregates, the journey KPIs and the bulk
files from one pass over the requests table (before, the aggregates and the bulk files each
read the year: 76 s for the first export at 100,000 stored). Here the files of the two-read
export (``stats.current`` + ``stats.publish``, then ``bulk.export`` reading for itself) and
of the one pass, from the same table at the same moment, are compared byte for byte, and the
table is read once: one query per month of the window (the verdicts: per month from the
first request's).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.client import BaseClient

from citizenbus.local.runtime import LocalBus
from functions.domain.open_data import bulk, export, stats
from functions.domain.requests.intake import file_request
from functions.domain.requests.store import months
from functions.domain.verdicts.store import VerdictStore
from functions.platform.catalog import get_catalog
from functions.platform.settings import get_settings
from schemas.channels import Channel
from schemas.request import Contact, NewRequest
from tests.support.bus import move
from tests.support.privacy import PublicWatch

# Midday today: a request filed later today is in today's bulk file, not in the aggregates
AT = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
ADDRESSES = {"street-damage": "Storgatan 5A", "missed-waste-collection": "Sopvägen 7, lgh 1201"}


def file(
    watch: PublicWatch,
    service: str,
    channel: Channel,
    at: datetime,
    n: int,
    closed_after: timedelta | None = None,
) -> list[str]:
    references = []
    for i in range(n):
        email = f"export.{service[:4]}.{channel}.{at:%j}.{i}@example.se"
        watch.remember(email)
        new = NewRequest(
            service_code=service,
            attributes={"address": ADDRESSES[service]},
            contact=Contact(email=email),
            language="en",
            new=True,
        )
        citizen = f"cit_export{channel}{at:%j}{i}" if channel in ("app", "sms") else None
        submitted = at + timedelta(minutes=i)
        reference = file_request(new, channel=channel, citizen=citizen, now=submitted).record[
            "reference"
        ]
        if closed_after is not None:
            move(
                reference,
                ("in_progress", submitted + closed_after / 3),
                ("resolved", submitted + closed_after),
            )
        references.append(reference)
    return references


def answer_verdicts(references: list[str], service: str, channel: str, at: datetime) -> None:
    verdicts = VerdictStore()
    for n, reference in enumerate(references):
        asked = at + timedelta(days=1)
        verdicts.ask(
            {
                "reference": reference,
                "service_code": service,
                "agency": "streets",
                "channel": channel,
                "asked_via": "email",
                "asked_at": asked.isoformat(),
                "month": asked.strftime("%Y-%m"),
                "submitted_month": at.strftime("%Y-%m"),
                "expires_at": int((AT + timedelta(days=30)).timestamp()),
            }
        )
        verdicts.answer(reference, 1 + n % 5, "email", asked.isoformat(), int(asked.timestamp()))


def objects() -> dict[str, bytes]:
    s3 = boto3.client("s3")
    bucket = os.environ["OPEN_DATA_BUCKET"]
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def empty_bucket() -> None:
    s3 = boto3.client("s3")
    bucket = os.environ["OPEN_DATA_BUCKET"]
    for key in objects():
        s3.delete_object(Bucket=bucket, Key=key)


@contextmanager
def queries() -> Iterator[Counter[str]]:
    """DynamoDB queries made inside, by table."""
    seen: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "Query":
            seen[params["TableName"]] += 1
        return original(self, operation, params)

    BaseClient._make_api_call = counting
    try:
        yield seen
    finally:
        BaseClient._make_api_call = original


def test_one_pass_writes_what_two_reads_wrote_and_reads_each_request_once(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    old = AT - timedelta(days=300)
    streets = file(open_data, "street-damage", "eservice", old, 6, timedelta(hours=30))
    answer_verdicts(streets, "street-damage", "eservice", old)
    file(open_data, "street-damage", "app", AT - timedelta(days=20), 5, timedelta(days=2))
    file(open_data, "missed-waste-collection", "open311", AT - timedelta(days=2), 7)
    file(open_data, "missed-waste-collection", "sms", AT - timedelta(hours=3), 2)
    file(open_data, "street-damage", "eservice", AT + timedelta(hours=1), 1)  # after the export
    catalog = get_catalog()

    with queries() as two_reads:
        aggregates = stats.current(AT)
        files = stats.publish(aggregates)
        run = bulk.export(catalog, AT)
    before = objects()
    empty_bucket()
    with queries() as one_pass:
        done = export.run(catalog, AT)
    after = objects()
    open_data.exports()  # the watch reads every exported file for the personal data filed

    assert done.aggregates == aggregates and done.files == files
    assert done.bulk == run and run.records_read == 21  # every request, today's later one too
    assert sorted(after) == sorted(before) and len(after) > 12
    assert {k: v for k, v in after.items() if v != before[k]} == {}
    # the request filed after the export's moment is in today's bulk file, not in the cells
    today = AT.date().isoformat()
    assert not [r for r in aggregates.rows if (r.date, r.service_code) == (today, "street-damage")]
    assert b"street-damage" in after[f"open-data/v1/bulk/days/{AT.year}/{today}.csv"]
    assert any(r.satisfaction_answers == 6 for r in aggregates.journey)

    window = len(months(*stats.window(AT)))
    requests, verdicts = get_settings().requests_table, get_settings().verdicts_table
    assert two_reads[requests] == 2 * window  # the year read twice: one page a month each
    assert one_pass[requests] == window and two_reads[verdicts] == window
    # the verdicts from the first month with a request on: a question follows its filing
    assert one_pass[verdicts] == len(months(old, AT)) < window


def test_the_export_invocation_answers_with_its_files_and_bulk_run(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    file(open_data, "missed-waste-collection", "open311", AT - timedelta(days=2), 5)
    answer: dict[str, Any] = bus.invoke("open_data_export", {})
    open_data.exports()
    assert answer["rows"] >= 1 and answer["withheld"] == 0
    assert "open-data/v1/stats.json" in answer["files"]
    assert answer["bulk"]["records_read"] == 5 and not answer["bulk"]["unfinished"]
    assert "open-data/v1/bulk/manifest.json" in answer["bulk"]["written"]


def test_the_next_hourly_run_reads_only_the_months_that_can_still_change(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    """A young deployment's window is mostly empty months: once the bulk manifest knows their
    days final and empty, the hourly export stops asking for them (one query a month, every
    hour, for nothing) and publishes the same aggregates."""
    old = AT - timedelta(days=300)
    file(open_data, "street-damage", "eservice", old, 3, timedelta(hours=30))
    file(open_data, "missed-waste-collection", "open311", AT - timedelta(days=2), 4)  # open
    file(open_data, "street-damage", "app", AT - timedelta(hours=2), 2)
    catalog = get_catalog()
    first = export.run(catalog, AT)
    with queries() as again:
        second = export.run(catalog, AT)
    open_data.exports()

    window = months(*stats.window(AT))
    state = bulk.manifest()
    assert state is not None
    settled = bulk.settled_empty(state, stats.window(AT)[0].date(), AT.date())
    # read: the months with a request, and those with a day not final yet (the last two days)
    live = {old.strftime("%Y-%m")} | {(AT - timedelta(days=n)).strftime("%Y-%m") for n in range(3)}
    assert settled == set(window) - live and len(settled) >= 10
    assert again[get_settings().requests_table] == len(live)
    assert second.aggregates == first.aggregates  # the same cells, journey rows and verdicts
    assert second.bulk.written == [] and second.bulk.records_read == 4 + 2


def test_a_backfill_into_a_settled_month_is_read_by_a_rebuild(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    """Nothing intake files lands in a day final and empty (late arrivals land within
    ``GRACE_DAYS``); a backfill does, and is followed by a ``rebuild`` (what the local bus
    runs after ``citizenbus seed``), which reads every month again."""
    file(open_data, "street-damage", "app", AT - timedelta(hours=2), 1)
    catalog = get_catalog()
    export.run(catalog, AT)
    backfilled = AT - timedelta(days=200)
    file(open_data, "street-damage", "eservice", backfilled, 3, timedelta(hours=30))

    plain = export.run(catalog, AT)
    with queries() as seen:
        rebuilt = export.run(catalog, AT, rebuild=True)
    open_data.exports()

    assert seen[get_settings().requests_table] == len(months(*stats.window(AT)))
    day = backfilled.date().isoformat()
    assert [r for r in rebuilt.aggregates.rows if r.date == day]  # a cell (withheld: 3 < 5)
    assert not [r for r in plain.aggregates.rows if r.date == day]
    assert rebuilt.bulk.records_read == 4

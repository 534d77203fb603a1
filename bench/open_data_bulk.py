"""How the bulk open-data export scales: a year of N requests in the local bus's moto.

One request is filed through intake and closed; N copies of its stored item spread over the
last 365 days (varied service, channel, status, resolution time) are written straight to the
table (``citizenbus seed`` is the realistic way; this only needs volume). Then the bulk export
runs three times: the first (backfill of the whole window), a re-run with nothing changed,
and a run after one new request today. Prints the figures (moto's query cost dominates at
this size; see docs/open-data.md). ``--whole``: each run is the scheduled export's whole
invocation (``functions/open_data/export.py``: the aggregates, the journey KPIs and the bulk
files), with the AWS calls it made by operation::

    python -m bench.open_data_bulk --requests 2000 [--memory] [--whole] [--compare 2]

``--compare N``: instead, after one export that writes the files, N rounds of the export's
reads done both ways on the same table (the aggregates and the bulk files each reading for
itself, against the one pass), a rebuild and a plain re-run each, with wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.client import BaseClient

from citizenbus.local.runtime import LocalBus
from functions.domain.open_data import bulk
from functions.domain.requests.intake import file_request
from functions.platform.catalog import get_catalog
from functions.platform.settings import get_settings
from schemas.request import Contact, NewRequest

SERVICES = {"street-damage": ("streets", 14), "missed-waste-collection": ("waste", 3)}
CHANNELS = ("sms", "voice", "app", "eservice", "open311")


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def populate(bus: LocalBus, count: int, now: datetime) -> None:
    new = NewRequest(
        service_code="street-damage",
        attributes={"address": "Storgatan 5A", "description": "A hole"},
        contact=Contact(email="bench@example.se"),
        language="en",
    )
    filed = file_request(new, channel="eservice", citizen=None, now=now - timedelta(days=1))
    client: Any = boto3.client("dynamodb")
    table = get_settings().requests_table
    template = client.get_item(TableName=table, Key={"reference": {"S": filed.record["reference"]}})
    item: dict[str, Any] = template["Item"]
    rng = random.Random(7)  # noqa: S311 - synthetic data, not secrets
    batch: list[dict[str, Any]] = []
    for n in range(count):
        submitted = now - timedelta(seconds=rng.randrange(365 * 86400))
        code = rng.choice(list(SERVICES))
        agency, sla = SERVICES[code]
        hours = rng.lognormvariate(3.5, 1.0)
        closed = submitted + timedelta(hours=hours)
        status = "resolved" if closed < now and rng.random() < 0.95 else "in_progress"
        history = [{"M": {"status": {"S": "received"}, "at": {"S": _stamp(submitted)}}}]
        if status == "resolved":
            history.append({"M": {"status": {"S": "resolved"}, "at": {"S": _stamp(closed)}}})
        copy = dict(item) | {
            "reference": {"S": f"9{n:09d}"},
            "service_code": {"S": code},
            "agency": {"S": agency},
            "channel": {"S": rng.choice(CHANNELS)},
            "status": {"S": status},
            "submitted_at": {"S": _stamp(submitted)},
            "submitted_month": {"S": _stamp(submitted)[:7]},
            "updated_at": {"S": _stamp(closed if status == "resolved" else submitted)},
            "expected_at": {"S": _stamp(submitted + timedelta(days=sla))},
            "history": {"L": history},
        }
        for key in ("due", "citizen", "contact_key"):
            copy.pop(key, None)
        batch.append({"PutRequest": {"Item": copy}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})


class _Context:
    function_name = "citizenbus-open_data_export"
    memory_limit_in_mb = 1024
    aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:open_data_export"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """The AWS calls made inside, by ``service.Operation``."""
    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def counting(self: BaseClient, operation: str, params: Any) -> Any:
        calls[f"{self.meta.service_model.service_name}.{operation}"] += 1
        return original(self, operation, params)

    BaseClient._make_api_call = counting  # type: ignore[attr-defined]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]


def timed(label: str, memory: bool, rebuild: bool = False, whole: bool = False) -> None:
    """One run of the bulk part of the export, or (``whole``) of the export's invocation."""
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    with counted() as calls:
        if whole:
            from functions.open_data.export import lambda_handler  # noqa: PLC0415 - --whole only

            answer = lambda_handler({"rebuild": rebuild}, _Context())
            run = bulk.Run(
                answer["bulk"]["days_read"],
                answer["bulk"]["records_read"],
                answer["bulk"]["written"],
                answer["bulk"]["unfinished"],
            )
        else:
            run = bulk.export(get_catalog(), rebuild=rebuild)
    seconds = time.perf_counter() - started
    peak = f"{tracemalloc.get_traced_memory()[1] / 1e6:.0f} MB" if memory else "-"
    tracemalloc.stop()
    print(
        f"| {label} | {seconds:.1f} s | {run.days_read} | {run.records_read} | "
        f"{len(run.written)} | {peak} | {sum(calls.values())} |"
    )
    print("  calls:", dict(sorted(calls.items())))


def compare(rounds: int) -> None:
    """The export's reads, two (the aggregates' and the bulk files' own, as before the one
    pass) against one (``functions/domain/open_data/export.py``), alternated on one table:
    wall and CPU seconds (moto answers in this process: its CPU is counted too)."""
    from functions.domain.open_data import export, stats  # noqa: PLC0415 - --compare only

    def two_reads(rebuild: bool) -> bulk.Run:
        stats.publish(stats.current())
        return bulk.export(get_catalog(), rebuild=rebuild)

    def one_pass(rebuild: bool) -> bulk.Run:
        return export.run(get_catalog(), rebuild=rebuild).bulk

    print("| export | rebuild | wall | CPU | records read (bulk) | DynamoDB queries |")
    print("|---|---|---|---|---|---|")
    for _ in range(rounds):
        for rebuild in (True, False):
            for label, how in (("two reads", two_reads), ("one pass", one_pass)):
                started, cpu = time.perf_counter(), time.process_time()
                with counted() as calls:
                    run = how(rebuild)
                print(
                    f"| {label} | {rebuild} | {time.perf_counter() - started:.1f} s | "
                    f"{time.process_time() - cpu:.1f} s | {run.records_read} | "
                    f"{calls['dynamodb.Query']} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--memory", action="store_true", help="trace peak memory (slower)")
    parser.add_argument("--whole", action="store_true", help="time the export's invocation")
    parser.add_argument(
        "--compare", type=int, default=0, help="rounds of two reads against one pass, after"
    )
    args = parser.parse_args()
    now = datetime.now(UTC)
    with LocalBus() as bus:
        started = time.perf_counter()
        populate(bus, args.requests, now)
        print(f"{args.requests} requests written in {time.perf_counter() - started:.1f} s")
        if args.compare:
            bulk.export(get_catalog())  # the files written once, so both sides only read
            compare(args.compare)
            return
        print(
            "| export run | time | days read | records read | files written | peak memory "
            "| AWS calls |"
        )
        print("|---|---|---|---|---|---|---|")
        timed("first (backfill)", args.memory, whole=args.whole)
        timed("re-run, nothing changed", args.memory, whole=args.whole)
        new = NewRequest(
            service_code="street-damage",
            attributes={"address": "Storgatan 9"},
            contact=Contact(email="bench2@example.se"),
            language="en",
        )
        file_request(new, channel="app", citizen="cit_bench", now=now)
        timed("after one new request today", args.memory, whole=args.whole)
        s3 = boto3.client("s3")
        manifest = json.loads(
            s3.get_object(
                Bucket=get_settings().open_data_bucket, Key="open-data/v1/bulk/manifest.json"
            )["Body"].read()
        )
        years = {n: f for n, f in manifest["files"].items() if len(n.split(".")[0]) == 4}
        for name, info in sorted(years.items()):
            print(f"{name}: {info['rows']} rows, {info['bytes'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

"""What keeping the local bus costs (``citizenbus serve --data``): snapshot size and time,
the journal's cost per filing, the start after a ``kill -9``.

``python -m bench.persistence --data DIR [--filings N]`` measures a kept city (one
``citizenbus seed`` filled into ``citizenbus serve --data DIR``), on a copy of DIR: the start
from its snapshot, N filings with the journal flushed as ``serve`` does (each flush timed, the
journal thread's CPU counted) and N without flushing, a forked snapshot, N more filings
journaled only, and a start from that snapshot plus the journal (no last snapshot, as after a
``kill -9``).

``python -m bench.persistence [--requests N] [--quick]`` fills an in-process bus with N
requests, then writes snapshots both ways (forked: the bus lock is held for the fork only;
in-process: for the pickling) while a thread keeps asking ``GET /healthz``, and restores the
bus from the snapshot. Prints the figures (and ``--json`` them).

The fill: a few hundred real filings over the e-service (items, outbox stream records, agency
queue messages as the bus makes them), then copies of those items with new keys written
through DynamoDB ``BatchWriteItem`` and of the agency queue's messages until there are N
requests: the sizes are the real ones, without waiting for moto's
transactions (issue 16).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

from citizenbus.local.persistence import Persistence
from citizenbus.local.runtime import ACCOUNT, REGION, LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.platform import aws

REAL = 100  # filed through the bus; the rest are copies


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def fill(bus: LocalBus, requests: int) -> None:
    real = min(REAL, requests)
    for i in range(real):
        answer = bus.request(
            "POST",
            "/eservice/v1/forms/street-damage",
            json_body={
                "address": f"Storgatan {i}",
                "description": "Deep hole by the crossing, about half a metre wide",
                "phone": f"070000{i:04d}",
                "email": f"person{i}@example.se",
            },
        )
        assert answer.status == 201, answer.text
        if i % 50 == 0:
            bus.pump()
    bus.pump()
    copies = requests - real
    if copies <= 0:
        return
    client: Any = aws.dynamodb()  # items of every table's own shape
    tables = {
        name: client.scan(TableName=name)["Items"]
        for name in client.list_tables()["TableNames"]
        if client.scan(TableName=name, Limit=1)["Items"]
    }
    keys = {
        name: [
            k["AttributeName"] for k in client.describe_table(TableName=name)["Table"]["KeySchema"]
        ]
        for name in tables
    }
    for name, items in tables.items():
        per_request = len(items) / real
        wanted = int(copies * per_request)
        batch: list[dict[str, Any]] = []
        for n in range(wanted):
            item = dict(items[n % len(items)])
            for key in keys[name]:  # a new key, the same shape
                kind, value = next(iter(item[key].items()))
                item[key] = {kind: f"{value}-copy{n}" if kind == "S" else value}
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == 25:
                client.batch_write_item(RequestItems={name: batch})
                batch = []
        if batch:
            client.batch_write_item(RequestItems={name: batch})
    # The agency queue's messages: copied in moto's queue directly (moto's SendMessage
    # counts every message in the queue for each one sent: quadratic over a long fill).
    from moto.sqs.models import sqs_backends  # noqa: PLC0415 - moto's own queue, bench only

    queue = sqs_backends[ACCOUNT][REGION].queues[agency_queue("streets")]
    waiting = list(queue._messages)
    for n in range(copies):
        message = copy.copy(waiting[n % len(waiting)])
        message.id = str(uuid.uuid4())
        queue._messages.append(message)


def _health_latencies(bus: LocalBus, stop: threading.Event, out: list[float]) -> None:
    """One ``GET /healthz`` every 5 ms; each answer's time counted from when it was due, so
    a stall (the lock, the GIL) counts in full even if the asker was asleep when it began."""
    due = time.perf_counter()
    while not stop.is_set():
        due += 0.005
        time.sleep(max(0.0, due - time.perf_counter()))
        bus.request("GET", "/healthz")
        out.append(time.perf_counter() - due)


def _started(directory: str) -> tuple[Persistence, LocalBus, float]:
    """The local bus started on ``directory``'s data, and the seconds that took (a restore)."""
    started = time.perf_counter()
    keeper = Persistence(directory, say=_say)
    bus = LocalBus(persistence=keeper).start()
    return keeper, bus, round(time.perf_counter() - started, 2)


def measure(requests: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"requests": requests}
    with tempfile.TemporaryDirectory(prefix="citizenbus-bench-") as directory:
        keeper, bus, _ = _started(directory)
        try:
            started = time.perf_counter()
            fill(bus, requests)
            figures["fill_seconds"] = round(time.perf_counter() - started, 1)
            for fork in (True, False):
                keeper.fork = fork
                latencies: list[float] = []
                stop = threading.Event()
                asker = threading.Thread(target=_health_latencies, args=(bus, stop, latencies))
                asker.start()
                time.sleep(0.3)
                before = len(latencies)
                saved = keeper.save()
                time.sleep(0.1)
                stop.set()
                asker.join()
                assert saved is not None, "snapshot failed"
                during = latencies[before:] or [0.0]
                figures["forked" if fork else "in_process"] = {
                    "file_mb": round(saved.bytes / 1e6, 2),
                    "pickled_mb": round(saved.pickled_bytes / 1e6, 1),
                    "lock_held_ms": round(saved.locked_seconds * 1000, 1),
                    "snapshot_seconds": round(saved.seconds, 2),
                    "healthz_ms_before_p50": round(statistics.median(latencies[:before]) * 1000, 1),
                    "healthz_ms_during_max": round(max(during) * 1000, 1),
                }
            keeper.close()
        finally:
            bus.stop()
        again, bus, figures["restore_seconds"] = _started(directory)
        again.close()
        bus.stop()
    return figures


def _requests_stored() -> int:
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - moto's own, bench only

    table = dynamodb_backends[ACCOUNT][REGION].tables.get("citizenbus-requests")
    return 0 if table is None else sum(1 for _ in table.all_items())


def _timed_flushes(
    keeper: Persistence, stop: threading.Event, out: list[tuple[float, float, int]]
) -> None:
    """The journal's flush loop, each flush timed: (seconds, this thread's CPU seconds,
    bytes)."""
    while not stop.wait(keeper.flush_interval):
        started, cpu = time.perf_counter(), time.thread_time()
        written = keeper.flush()
        if written:
            out.append((time.perf_counter() - started, time.thread_time() - cpu, written))


def _file(bus: LocalBus, filings: int, latencies: list[float]) -> None:
    for i in range(filings):
        began = time.perf_counter()
        answer = bus.request(
            "POST",
            "/eservice/v1/forms/street-damage",
            json_body={
                "address": f"Benchgatan {i}",
                "description": "Deep hole by the crossing, about half a metre wide",
                "phone": "0700000000",
            },
        )
        latencies.append(time.perf_counter() - began)
        assert answer.status == 201, answer.text
        if i % 10 == 9:
            bus.pump()
    bus.pump()


def measure_city(data: str, filings: int) -> dict[str, Any]:
    """A kept city (``citizenbus seed`` into ``serve --data``), copied: its restore, then
    ``filings`` filings with the journal flushed as ``serve`` does, a snapshot (forked), and
    a restore from that snapshot plus a journal (a kill -9: no last snapshot)."""
    import shutil  # noqa: PLC0415 - this mode only

    figures: dict[str, Any] = {"filings": filings}
    with tempfile.TemporaryDirectory(prefix="citizenbus-bench-") as directory:
        copy_of = f"{directory}/data"
        shutil.copytree(data, copy_of)
        for leftover in ("lock",):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{copy_of}/{leftover}")
        keeper, bus, figures["restore_seconds"] = _started(copy_of)
        figures["requests"] = _requests_stored()
        try:
            without: list[float] = []
            _file(bus, filings, without)  # the journal not flushed meanwhile
            keeper.flush()
            flushes: list[tuple[float, float, int]] = []
            stop = threading.Event()
            flusher = threading.Thread(target=_timed_flushes, args=(keeper, stop, flushes))
            flusher.start()
            latencies: list[float] = []
            cpu = time.process_time()
            _file(bus, filings, latencies)
            time.sleep(keeper.flush_interval * 2)
            stop.set()
            flusher.join()
            cpu = time.process_time() - cpu
            seconds = [f for f, _, _ in flushes] or [0.0]
            flush_cpu = sum(c for _, c, _ in flushes)
            written = sum(b for _, _, b in flushes)
            figures["journal"] = {
                "flushes": len(flushes),
                "bytes_per_filing": round(written / filings),
                "flush_cpu_ms_per_filing": round(flush_cpu / filings * 1000, 2),
                "flush_ms_p50": round(statistics.median(seconds) * 1000, 1),
                "flush_ms_max": round(max(seconds) * 1000, 1),
                "flush_cpu_share": round(flush_cpu / cpu, 3) if cpu else None,
                "filing_ms_p50": round(statistics.median(latencies) * 1000, 1),
                "filing_ms_p50_unflushed": round(statistics.median(without) * 1000, 1),
                "kill_9_window_s": round(keeper.flush_interval + max(seconds), 2),
            }
            keeper.fork = True
            saved = keeper.save()
            assert saved is not None, "snapshot failed"
            figures["snapshot"] = {
                "file_mb": round(saved.bytes / 1e6, 1),
                "pickled_mb": round(saved.pickled_bytes / 1e6, 1),
                "lock_held_ms": round(saved.locked_seconds * 1000, 1),
                "seconds": round(saved.seconds, 2),
            }
            # after the snapshot, more filings journaled only; then a kill -9 (no last write)
            for i in range(filings):
                bus.request(
                    "POST",
                    "/eservice/v1/forms/street-damage",
                    json_body={"address": f"Benchgatan {i}", "phone": "0700000000"},
                )
                if i % 10 == 9:
                    bus.pump()
            keeper.flush()
            figures["journal_mb_replayed"] = round(keeper.journal_bytes / 1e6, 2)
            keeper.release()
        finally:
            bus.stop()
        again, bus, figures["restore_after_kill_seconds"] = _started(copy_of)
        figures["journal_records_replayed"] = again.replayed
        again.release()
        bus.stop()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 requests")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="measure a kept city instead (a copy of DIR): restore, journal, snapshot",
    )
    parser.add_argument("--filings", type=int, default=300, help="with --data (%(default)s)")
    args = parser.parse_args(argv)
    if args.data:
        city = measure_city(args.data, args.filings)
        if args.json:
            print(json.dumps(city, indent=2))
            return 0
        j, snap = city["journal"], city["snapshot"]
        print(f"citizenbus serve --data, a kept city of {city['requests']:,} requests")
        print(f"  start from its snapshot: {city['restore_seconds']} s")
        print(
            f"  journal over {city['filings']} filings: {j['bytes_per_filing']:,} bytes and"
            f" {j['flush_cpu_ms_per_filing']} ms of CPU a filing ({j['flush_cpu_share']:.1%}"
            f" of the process's), {j['flushes']} flushes, p50 {j['flush_ms_p50']} ms, max"
            f" {j['flush_ms_max']} ms (waiting for the lock and fsync included); filing p50"
            f" {j['filing_ms_p50']} ms ({j['filing_ms_p50_unflushed']} ms not flushing);"
            f" kept after a kill -9: all but the last {j['kill_9_window_s']} s"
        )
        print(
            f"  snapshot (forked): {snap['file_mb']} MB ({snap['pickled_mb']} MB pickled),"
            f" bus lock held {snap['lock_held_ms']} ms, written in {snap['seconds']} s"
        )
        print(
            f"  start after a kill -9: {city['restore_after_kill_seconds']} s (snapshot and"
            f" {city['journal_records_replayed']} journal records,"
            f" {city['journal_mb_replayed']} MB)"
        )
        return 0
    figures = measure(1_000 if args.quick else args.requests)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"citizenbus serve --data, {figures['requests']:,} requests stored")
    print(f"  fill (bench only): {figures['fill_seconds']} s")
    for way in ("forked", "in_process"):
        f = figures[way]
        print(
            f"  snapshot {way:10}: file {f['file_mb']} MB ({f['pickled_mb']} MB pickled),"
            f" bus lock held {f['lock_held_ms']} ms, written in {f['snapshot_seconds']} s;"
            f" GET /healthz p50 {f['healthz_ms_before_p50']} ms before, max"
            f" {f['healthz_ms_during_max']} ms during"
        )
    print(f"  restore at start: {figures['restore_seconds']} s (the whole LocalBus start)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Open data with a city in the local bus: Open311 ``GET requests.json`` and ``stats.json``
(``python -m bench.open_data_scale --stored 100000``).

One process: a local bus seeded in-process (``citizenbus seed``'s plan and apply, no HTTP),
then per read the wall time of the route as the bus answers it (handler, moto, the JSON).
With ``--inline-first``, a first ``stats.json`` before any export (it aggregates the whole
table on the read). Then the scheduled export (the local bus runs it after ``citizenbus
seed``), the first ``stats.json`` and ``/open-data/`` reads after it, then ``--reads`` rounds
of ``requests.json`` (the default window, 1,000 per page; the first round makes every
document, later rounds reuse the kept ones), ``requests.json?page=5`` and ``stats.json``.
``--profile ROUTE`` prints cProfile's top entries for that route's reads.
Prints one JSON line of figures (p50/max in ms) and a Markdown table row.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import json
import os
import pstats
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

ROUTES = {
    "open311": "/open311/v2/requests.json",
    "open311-page5": "/open311/v2/requests.json?page=5",
    "stats": "/open-data/v1/stats.json",
}


def _get(bus: Any, path: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    answer = bus.request("GET", path)
    ms = (time.perf_counter() - started) * 1000
    if answer.status != 200:
        raise RuntimeError(f"{path}: {answer.status} {answer.body[:200]!r}")
    return ms, answer.body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=sorted(ROUTES), help="profile this route's reads")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after seeding")
    parser.add_argument(
        "--inline-first",
        action="store_true",
        help="first read stats.json before any export (it aggregates the table on the read)",
    )
    args = parser.parse_args(argv)

    from citizenbus.local import seed  # noqa: PLC0415 - after the environment is set
    from citizenbus.local.runtime import LocalBus  # noqa: PLC0415 - as above
    from schemas.catalog import load_catalog  # noqa: PLC0415 - as above

    bus = LocalBus().start()
    sla = {s.service_code: s.sla_days for s in load_catalog().services}
    filings = seed.plan(args.stored, 365, args.seed, datetime.now(UTC).date(), sla)
    started = time.perf_counter()
    while batch := list(itertools.islice(filings, seed.BATCH)):
        with bus.lock:
            seed.apply(batch)
    seed_s = time.perf_counter() - started
    print(f"seeded {args.stored} in {seed_s:.0f} s", file=sys.stderr, flush=True)
    if args.gc_freeze:
        gc.freeze()

    profiler = cProfile.Profile()
    inline_ms, inline_status = None, None
    if args.inline_first:  # no export yet: the API aggregates the table (at most 3 s) or 503
        started = time.perf_counter()
        inline_status = bus.request("GET", ROUTES["stats"]).status
        inline_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    bus.invoke("open_data_export", {"rebuild": True})  # as the local bus does after a seed
    export_s = time.perf_counter() - started
    first_ms, _ = _get(bus, ROUTES["stats"])
    page_ms, _ = _get(bus, "/open-data/")
    times: dict[str, list[float]] = {name: [] for name in ROUTES}
    collecting: dict[str, float] = {"started": 0.0, "total": 0.0, "gen2": 0}

    def gc_timer(phase: str, info: dict[str, int]) -> None:  # the reads' share of GC pauses
        if phase == "start":
            collecting["started"] = time.perf_counter()
        else:
            collecting["total"] += time.perf_counter() - collecting["started"]
            collecting["gen2"] += info["generation"] == 2

    gc.callbacks.append(gc_timer)
    sizes: dict[str, int] = {}
    for _ in range(args.reads):
        for name, path in ROUTES.items():
            if name == args.profile:
                profiler.enable()
            ms, body = _get(bus, path)
            profiler.disable()
            times[name].append(ms)
            sizes[name] = len(body)
    gc.callbacks.remove(gc_timer)
    records = len(json.loads(_get(bus, ROUTES["open311"])[1]))
    bus.stop()
    result: dict[str, Any] = {
        "stored": args.stored,
        "seed_s": round(seed_s, 1),
        "open311_records": records,
        "export_s": round(export_s, 1),
        "stats_first_ms": round(first_ms, 1),
        "stats_inline_first_ms": round(inline_ms, 1) if inline_ms is not None else None,
        "stats_inline_first_status": inline_status,
        "page_first_ms": round(page_ms, 1),
        "gc_during_reads_ms": round(collecting["total"] * 1000, 1),
        "gc_full_collections_during_reads": collecting["gen2"],
        "gc_frozen": args.gc_freeze,
    }
    for name, values in times.items():
        result[f"{name}_p50_ms"] = round(statistics.median(values), 1)
        result[f"{name}_max_ms"] = round(max(values), 1)
        result[f"{name}_bytes"] = sizes[name]
    print(json.dumps(result), flush=True)
    print(
        f"| {args.stored:,} | {result['seed_s']} | {result['export_s']} |"
        f" {result['open311_p50_ms']} ({records}) | {result['open311_max_ms']} |"
        f" {result['open311-page5_p50_ms']} | {result['stats_p50_ms']} |"
        f" {result['stats_first_ms']} | {result['page_first_ms']} |"
    )
    if args.profile:
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Profile the local bus in one process: seeding, the synchronous filing path, Open311 and
stats reads (``python -m bench.profile_local --stored 10000 --what filing``).

Prints cProfile's top entries by cumulative and own time, and the wall time per call. A tool
for finding where the local bus spends its time (``make scale`` measures it over HTTP).
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")


def _filing(n: int) -> dict[str, Any]:
    return {
        "address": f"Storgatan {n % 90 + 1}",
        "email": f"profile{n}@example.org",
        "notify_by": "email",
        "consent": True,
        "submission_id": str(uuid.uuid4()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=1000)
    parser.add_argument("--what", default="filing", help="seed, filing, pump, open311, stats")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", help="also write the profile here (pstats format)")
    args = parser.parse_args(argv)

    from citizenbus.local import seed  # noqa: PLC0415 - after the environment is set
    from citizenbus.local.runtime import HttpResponse, LocalBus  # noqa: PLC0415 - as above
    from schemas.catalog import load_catalog  # noqa: PLC0415 - as above

    bus = LocalBus().start()
    sla = {s.service_code: s.sla_days for s in load_catalog().services}
    filings = seed.plan(args.stored, 365, 1, datetime.now(UTC).date(), sla)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    seeded = 0
    while batch := list(itertools.islice(filings, seed.BATCH)):
        if args.what == "seed":
            profiler.enable()
        with bus.lock:
            seed.apply(batch)
        profiler.disable()
        seed.settle()  # as POST /_local/seed does after each batch
        seeded += len(batch)
    seed_s = time.perf_counter() - started
    print(f"seeded {seeded} in {seed_s:.1f} s ({seed_s / max(seeded, 1) * 1000:.2f} ms each)")

    def file(n: int) -> HttpResponse:
        return bus.request("POST", "/eservice/v1/forms/street-damage", json_body=_filing(n))

    def file_and_pump(n: int) -> HttpResponse:
        answer = file(n)
        bus.pump()  # and everything the filing sets off, to the agency queue and the citizen
        return answer

    calls: dict[str, Callable[[int], HttpResponse]] = {
        "filing": file,
        "pump": file_and_pump,
        "open311": lambda n: bus.request("GET", "/open311/v2/requests.json"),
        "stats": lambda n: bus.request("GET", "/open-data/v1/stats.json"),
    }
    if args.what == "stats":  # as the local bus does after `citizenbus seed` (else a 503)
        bus.invoke("open_data_export", {})
    if args.what in calls:
        call = calls[args.what]
        call(-1)  # warm
        bus.pump()
        times = []
        for n in range(args.calls):
            t = time.perf_counter()
            profiler.enable()
            answer = call(n)
            profiler.disable()
            times.append((time.perf_counter() - t) * 1000)
            assert answer.status in (200, 201), answer.status
        times.sort()
        print(f"{args.what}: p50 {times[len(times) // 2]:.1f} ms, max {times[-1]:.1f} ms")
    bus.stop()
    if args.out:
        profiler.dump_stats(args.out)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    parser.add_argument(
        "--what", default="filing", help="seed, filing, pump, open311, stats, burst"
    )
    parser.add_argument("--burst", type=int, default=300, help="--what burst: filings")
    parser.add_argument(
        "--switch", type=float, help="sys.setswitchinterval for the run (seconds; 0.005 default)"
    )
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", help="also write the profile here (pstats format)")
    args = parser.parse_args(argv)

    from citizenbus.local import seed  # noqa: PLC0415 - after the environment is set
    from citizenbus.local.runtime import HttpResponse, LocalBus  # noqa: PLC0415 - as above
    from schemas.catalog import load_catalog  # noqa: PLC0415 - as above

    if args.switch:
        sys.setswitchinterval(args.switch)
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
    if args.what == "burst":
        bus.pump()
        burst(bus, args.burst, args.top, args.out)
        bus.stop()
        return 0
    if args.what == "stats":  # as the local bus does after `citizenbus seed` (else a 503)
        bus.invoke("open_data_export", {"rebuild": True})
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


def burst(bus: Any, filings: int, top: int, out: str | None = None) -> None:
    """``citizenbus serve``'s HTTP server and event-source workers in this process, a burst
    of ``filings`` from 4 client threads in another process (``bench.scale.sustained``);
    prints the burst's rate, each function's CPU (thread CPU time around its invocations) and
    a sampled profile of every thread of this process during the burst (own and inclusive
    samples per function: where the one interpreter's time goes); with ``out``, cProfile of
    every thread (HTTP requests, event-source workers) written there."""
    import json  # noqa: PLC0415 - burst only
    import subprocess  # noqa: PLC0415 - burst only
    import threading  # noqa: PLC0415 - burst only
    from collections import Counter, defaultdict  # noqa: PLC0415 - burst only

    from bench.throughput import free_port  # noqa: PLC0415 - burst only
    from citizenbus.local.server import make_server  # noqa: PLC0415 - burst only

    port = free_port()
    server = make_server(bus, "127.0.0.1", port, "profile-token")
    stop = threading.Event()
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True),
        threading.Thread(target=bus.run_workers, args=(stop,), daemon=True),
    ]
    for thread in threads:
        thread.start()
    cpu: dict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    invoke = bus.invoke

    def timed(function: str, event: dict[str, Any]) -> Any:
        started = time.thread_time()
        try:
            return invoke(function, event)
        finally:
            cpu[function] += time.thread_time() - started
            calls[function] += 1

    during: dict[str, Any] = {}  # at the burst's last filing: CPU per function, the process's

    def routed(*args: Any, **kwargs: Any) -> Any:
        answer = request(*args, **kwargs)
        with lock:
            answered[0] += 1
            if answered[0] == filings:
                during.update(cpu, process=time.process_time())
        return answer

    lock = threading.Lock()
    answered = [0]
    request = bus.request
    bus.invoke = timed
    bus.request = routed
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    sampling = threading.Event()
    me = threading.get_ident()

    def sample() -> None:
        while not sampling.is_set():
            for ident, frame in sys._current_frames().items():
                if ident == me or ident == threading.get_ident():
                    continue
                seen = set()
                first = True
                f: Any = frame
                while f is not None:
                    code = f.f_code
                    name = f"{code.co_filename.rsplit('/site-packages/', 1)[-1]}:{code.co_name}"
                    if first:
                        own[name] += 1
                        first = False
                    if name not in seen:
                        inclusive[name] += 1
                        seen.add(name)
                    f = f.f_back
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    script = (
        "import json,sys; from bench import scale; "
        f"print(json.dumps(scale.sustained({port}, {filings}, 4)))"
    )
    import gc  # noqa: PLC0415 - burst only

    collected: Counter[int] = Counter()
    collections: Counter[int] = Counter()
    began: list[float] = []

    def timing(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[:] = [time.perf_counter()]
        elif began:
            collected[info["generation"]] += int((time.perf_counter() - began[0]) * 1e6)
            collections[info["generation"]] += 1

    gc.callbacks.append(timing)
    process_cpu = started_cpu = time.process_time()
    if top:  # the sampler costs CPU of its own: --top 0 for the plain figures
        sampler.start()
    # Python 3.12's cProfile (sys.monitoring) sees every thread: one profiler for them all
    profiler = cProfile.Profile() if out is not None else None
    if profiler is not None:
        profiler.enable()
    burst_began = time.monotonic()
    child = subprocess.run(  # noqa: S603 - our own bench
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    # the notifier (confirmation e-mails) catches up once the routes are quiet
    notified = [q for q, f in bus.queue_consumers if f == "notifier"]
    while any(bus.queue_messages(q) for q in notified) and time.monotonic() - burst_began < 300:
        time.sleep(0.1)
    print(f"notifier's queue empty {time.monotonic() - burst_began:.1f} s after the burst began")
    sampling.set()
    process_cpu = time.process_time() - process_cpu
    if profiler is not None and out is not None:
        profiler.disable()
        profiler.dump_stats(out)
        print(f"profile written to {out}")
    gc.callbacks.remove(timing)
    print(json.loads(child.stdout.strip().splitlines()[-1]))
    print(
        f"server process CPU during the burst: {process_cpu:.2f} s,"
        f" {process_cpu * 1000 / filings:.1f} ms per filing"
    )
    for generation in sorted(collections):
        print(
            f"  garbage collections, generation {generation}: {collections[generation]},"
            f" {collected[generation] / 1000:.0f} ms"
        )
    if during:
        spent = during.pop("process") - started_cpu
        print(
            f"  until the last filing was answered: {spent:.2f} s CPU,"
            f" {spent * 1000 / filings:.1f} ms per filing; by function (ms per filing): "
            + ", ".join(f"{f} {s * 1000 / filings:.2f}" for f, s in sorted(during.items()))
        )
    for function, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        print(
            f"  {function:28} {seconds * 1000:8.0f} ms CPU, {calls[function]:5} invocations,"
            f" {seconds * 1000 / filings:6.2f} ms per filing"
        )
    busy = [(n, c) for n, c in own.items() if "threading.py:wait" not in n]
    total = sum(c for _, c in busy) or 1
    print(f"sampled (not waiting): {total}")
    for name, count in sorted(busy, key=lambda x: -x[1])[:top]:
        print(f"  own {count / total:6.1%}  {name}")
    for name, count in inclusive.most_common(top * 2):
        print(f"  incl {count / total:6.1%}  {name}")
    stop.set()
    server.shutdown()


if __name__ == "__main__":
    sys.exit(main())

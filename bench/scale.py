"""``make scale``: the local bus with a city's year in it, measured as a newcomer would see it.

One ``citizenbus serve`` in its own process on a free port. For each size (default 1,000,
10,000 and 100,000 requests stored) ``citizenbus seed`` fills it up to that size, then over
HTTP: filing latency (web e-service filings one at a time), Open311 ``GET
/open311/v2/requests.json`` (the default window, 1,000 per page) and ``/open-data/v1/stats.json``.
At the largest size, once the bus is idle again (the open-data export that follows a seed
has written its bulk files), a burst of filings from a few client threads gives the sustained
filing rate, and every one of them must reach its agency's queue (``GET
/_local/queues/streets``).

Writes ``bench/scale.json`` and ``bench/scale.md``; prints the table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import throughput
from bench.events import ROOT
from bench.throughput import _call, _percentile

HERE = Path(__file__).resolve().parent
TOKEN = "scale-bench-operator-token"  # noqa: S105 - a local bench's own token
SERVICE, AGENCY = "street-damage", "streets"
READ_TIMEOUT_S = 30  # bench.throughput._call's client timeout


_DOORS = itertools.count(1)


def _filing(n: int) -> dict[str, Any]:
    # a door of its own each time: a second filing at an open request's door is a "me too"
    # (it follows that request), not the new request this bench times
    return {
        "address": f"Skalvägen {next(_DOORS)}",
        "email": f"scale{n}@example.org",
        "notify_by": "email",
        "consent": True,
        "submission_id": str(uuid.uuid4()),
    }


def _timed(port: int, method: str, path: str, body: Any = None) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    status, raw = _call(port, method, path, body)
    return (time.perf_counter() - started) * 1000, status, raw


def _settle(port: int, limit_s: float = 900) -> None:
    """Wait until the bus answers ``GET /healthz`` again (a read the client gave up on still
    runs in the bus, and the HTTP functions take turns): what is measured next starts then."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if _call(port, "GET", "/healthz")[0] == 200:
                return
        except TimeoutError:
            continue


def _read_times(port: int, path: str, reads: int) -> tuple[list[float], int | None, bool]:
    """``reads`` timed GETs of ``path``: the times, the records in the last answer (a JSON
    list), and whether a read got no answer within the client's timeout (then no more are
    made: the row says so instead of the run ending)."""
    times: list[float] = []
    records = None
    for _ in range(reads):
        try:
            ms, status, raw = _timed(port, "GET", path)
        except TimeoutError:
            _settle(port)
            return times, records, True
        assert status == 200, raw[:200]
        answer = json.loads(raw)
        records = len(answer) if isinstance(answer, list) else None
        times.append(ms)
    return times, records, False


def _p50(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def measure_size(port: int, filings: int, reads: int) -> dict[str, Any]:
    filing_ms: list[float] = []
    for n in range(filings):
        ms, status, raw = _timed(port, "POST", f"/eservice/v1/forms/{SERVICE}", _filing(n))
        if status != 201:
            raise RuntimeError(f"filing failed: {status} {raw[:200]!r}")
        filing_ms.append(ms)
    # Before the export that follows a seed has run, a big table answers 503 + Retry-After
    # (docs/open-data.md): wait for it, as a client would.
    deadline = time.monotonic() + 600
    while _call(port, "GET", "/open-data/v1/stats.json")[0] == 503:
        if time.monotonic() > deadline:
            raise RuntimeError("stats.json: still 503 after 600 s (no export?)")
        time.sleep(2)
    open311_ms, records, open311_timeout = _read_times(port, "/open311/v2/requests.json", reads)
    stats_ms, _, stats_timeout = _read_times(port, "/open-data/v1/stats.json", reads)
    return {
        "filing_p50_ms": _p50(filing_ms),
        "filing_p95_ms": round(_percentile(filing_ms, 0.95), 1),
        "open311_p50_ms": _p50(open311_ms) if open311_ms else None,
        "open311_records": records,
        "open311_timed_out": open311_timeout,
        "stats_first_ms": round(stats_ms[0], 1) if stats_ms else None,
        "stats_p50_ms": _p50(stats_ms[1:] or stats_ms) if stats_ms else None,
        "stats_timed_out": stats_timeout,
    }


def _shown(value: float | None, timed_out: bool) -> str:
    if value is None:
        return f"> {READ_TIMEOUT_S} s" if timed_out else "–"
    return f"{value}{' (then > ' + str(READ_TIMEOUT_S) + ' s)' if timed_out else ''}"


QUIET_CPU_SHARE = 0.15  # of one core, over a second: the bus is idle
QUIET_LIMIT_S = 900


def _cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (Linux ``/proc``); None where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(pid: int) -> float | None:
    """Wait until ``citizenbus serve`` (``pid``) uses less than :data:`QUIET_CPU_SHARE` of a
    core for a second: after a seed, the scheduled open-data export (the bulk files of every
    day seeded) keeps the bus busy for a while, and a burst measured then measures the two
    together. The seconds waited (None: CPU time not readable here, not waited)."""
    started = time.monotonic()
    before = _cpu_seconds(pid)
    if before is None:
        return None
    while time.monotonic() - started < QUIET_LIMIT_S:
        time.sleep(1)
        now = _cpu_seconds(pid)
        if now is None or now - before < QUIET_CPU_SHARE:
            break
        before = now
    return round(time.monotonic() - started, 1)


def sustained(port: int, requests: int, concurrency: int) -> dict[str, Any]:
    """Filings from ``concurrency`` threads; the rate, and that every one reached the queue."""
    references: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        while (n := next(counter, None)) is not None:
            status, raw = _call(port, "POST", f"/eservice/v1/forms/{SERVICE}", _filing(10**6 + n))
            if status == 201:
                with lock:
                    references.append(json.loads(raw)["reference"])

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    delivered: set[str] = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        _, raw = _call(port, "GET", f"/_local/queues/{AGENCY}")
        delivered = {str(m.get("detail", {}).get("subject")) for m in json.loads(raw)}
        if delivered.issuperset(references):
            break
        time.sleep(1)
    return {
        "requests": requests,
        "filed": len(references),
        "concurrency": concurrency,
        "filings_per_s": round(len(references) / wall, 1),
        "delivered": len(delivered.intersection(references)),
        "all_delivered_after_s": round(time.perf_counter() - started, 1),
    }


def seed(port: int, requests: int, seed_value: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CITIZENBUS_OPERATOR_TOKEN=TOKEN)
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own command, as a newcomer types it
        [
            sys.executable,
            "-m",
            "citizenbus.cli",
            "seed",
            "--requests",
            str(requests),
            "--seed",
            str(seed_value),
            "--local",
            f"http://127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A fresh ``citizenbus serve`` on a free port (its operator token :data:`TOKEN`, no
    embedded AWS port), serving: (port, process); stopped at the end."""
    with throughput.serving(
        *throughput.SERVE, env={"CITIZENBUS_OPERATOR_TOKEN": TOKEN}, timeout=90, interval=0.3
    ) as served:
        yield served


def seed_only(requests: int, seed_value: int = 1000) -> dict[str, Any]:
    """``citizenbus seed --requests N`` into a fresh ``citizenbus serve``: the wall time as a
    newcomer sees it, and the server's CPU time (what the seed costs, whatever else the
    machine runs meanwhile), with the load average before and after."""
    with serving() as (port, server):
        load_before = os.getloadavg()
        cpu_before = _cpu_s(server.pid)
        seconds = seed(port, requests, seed_value)
        cpu = _cpu_s(server.pid) - cpu_before
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "requests": requests,
        "seed_s": round(seconds, 1),
        "server_cpu_s": round(cpu, 1),
        "ms_per_request": round(seconds / requests * 1000, 2),
        "server_cpu_ms_per_request": round(cpu / requests * 1000, 2),
        "load_average_before": [round(x, 1) for x in load_before],
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
    }


def run(sizes: list[int], filings: int, reads: int, burst: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    with serving() as (port, server):
        stored = 0
        for number, size in enumerate(sizes):
            seconds = seed(port, size - stored, 1000 + number)
            seeded = size - stored
            stored = size
            row = {"stored": size, "seeded": seeded, "seed_s": round(seconds, 1)}
            row |= measure_size(port, filings, reads)
            stored += filings
            rows.append(row)
            print(json.dumps(row), flush=True)
        quiet_after = wait_until_quiet(server.pid)
        result = {"sizes": rows, "sustained": sustained(port, burst, 4)}
        result["sustained"]["bus_quiet_after_s"] = quiet_after
    first, last = rows[0], rows[-1]
    load = os.getloadavg()
    result |= {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}",
        "load_average_at_end": [round(x, 1) for x in load],
        "filing_p50_ratio_largest_to_smallest": round(
            last["filing_p50_ms"] / first["filing_p50_ms"], 2
        ),
        "seed_per_100k_s": round(
            sum(r["seed_s"] for r in rows) / sum(r["seeded"] for r in rows) * 100_000
        ),
    }
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Scale: the local bus with a city in it (`make scale`)",
        "",
        f"Measured {result['date']} on {result['machine']} (load average at the end:"
        f" {', '.join(map(str, result['load_average_at_end']))}).",
        "",
        "| stored | seeded | seed s | filing p50 ms | filing p95 ms | Open311 requests.json"
        " p50 ms (records) | stats.json p50 ms (first) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["sizes"]:
        lines.append(
            f"| {r['stored']:,} | {r['seeded']:,} | {r['seed_s']} | {r['filing_p50_ms']} |"
            f" {r['filing_p95_ms']} |"
            f" {_shown(r['open311_p50_ms'], r.get('open311_timed_out', False))}"
            f" ({r['open311_records']}) |"
            f" {_shown(r['stats_p50_ms'], r.get('stats_timed_out', False))}"
            f" ({_shown(r['stats_first_ms'], False)}) |"
        )
    s = result["sustained"]
    lines += [
        "",
        f"Filing p50 at the largest size / at the smallest: "
        f"{result['filing_p50_ratio_largest_to_smallest']}×. Seeding: "
        f"{result['seed_per_100k_s']} s per 100,000 requests.",
        f"Sustained: {s['filed']} of {s['requests']} filings from {s['concurrency']} threads at"
        f" {s['filings_per_s']} filings/s; {s['delivered']} in the agency queue after"
        f" {s['all_delivered_after_s']} s"
        + (
            f" (the burst began once the bus was idle, {s['bus_quiet_after_s']} s after the"
            " reads: the export that follows a seed had finished)."
            if s.get("bus_quiet_after_s") is not None
            else "."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--filings", type=int, default=40, help="timed filings per size")
    parser.add_argument("--reads", type=int, default=6, help="timed reads per size")
    parser.add_argument("--burst", type=int, default=300, help="filings in the sustained burst")
    parser.add_argument(
        "--seed-only",
        type=int,
        metavar="N",
        help="only seed N requests into a fresh bus; print the time and the server's CPU",
    )
    args = parser.parse_args(argv)
    if args.seed_only:
        print(json.dumps(seed_only(args.seed_only)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    result = run(sizes, args.filings, args.reads, args.burst)
    (HERE / "scale.json").write_text(json.dumps(result, indent=1) + "\n")
    text = markdown(result)
    (HERE / "scale.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

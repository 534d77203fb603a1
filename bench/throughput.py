"""Local bus throughput: a bounded burst of filings against ``citizenbus serve`` on loopback.

``citizenbus serve`` runs as its own process on a free port. A fixed number of web e-service
filings goes in from a few client threads (with a time limit); every filed reference must
then show up in its agency's queue (``GET /_local/queues/{agency}``): none may be lost.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

from bench.events import ROOT

SERVICE = "street-damage"
AGENCY = "streets"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _call(port: int, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if payload else {}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_serving(
    port: int, server: Any, log: Any, timeout: float = 60, interval: float = 0.2
) -> None:
    """Wait until ``citizenbus serve`` (``server``, a Popen writing to ``log``) answers
    ``GET /healthz`` on ``port``; RuntimeError with the end of its log if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _call(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise RuntimeError(f"citizenbus serve did not start: {log.read()[-2000:]}")
        time.sleep(interval)


@contextmanager
def serving(
    *module: str,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 60,
    interval: float = 0.2,
    port: int | None = None,
    output: IO[str] | None = None,
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``python -m <module…> --port P`` on ``port`` (else a free one; ``citizenbus.cli serve
    …`` or a bench server), serving: (P, process); stopped (SIGTERM, then killed after 20 s)
    at the end. ``env``: more variables for it (None unsets one; its log level is ERROR unless
    ``env`` says).
    ``output``: a readable file that keeps all it prints (else only its errors, kept until
    it stops)."""
    port = port or free_port()
    log = output or tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the server
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "POWERTOOLS_LOG_LEVEL": "ERROR"}
    server = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", *module, "--port", str(port)],
        cwd=ROOT,
        env={k: v for k, v in (environ | dict(env or {})).items() if v is not None},
        stdout=subprocess.DEVNULL if output is None else output,
        stderr=log if output is None else subprocess.STDOUT,
    )
    try:
        wait_until_serving(port, server, log, timeout, interval)
        yield port, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if output is None:
            log.close()


# ``citizenbus serve`` with no embedded AWS port, as the benches run it
SERVE = ("citizenbus.cli", "serve", "--host", "127.0.0.1", "--aws-port", "0")


def delivered(port: int, agency: str, references: Iterable[str], seconds: float) -> set[str]:
    """The references in ``agency``'s queue (``GET /_local/queues/{agency}``) once all of
    ``references`` are there, or when ``seconds`` have passed."""
    wanted = set(references)
    found: set[str] = set()
    wait_until = time.monotonic() + seconds
    while time.monotonic() < wait_until:
        status, raw = _call(port, "GET", f"/_local/queues/{agency}")
        messages = json.loads(raw) if status == 200 else []
        found = {str(m.get("detail", {}).get("subject")) for m in messages}
        if found.issuperset(wanted):
            break
        time.sleep(0.5)
    return found


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(
    requests: int = 300,
    concurrency: int = 4,
    time_limit: float = 90.0,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    with serving(*SERVE) as (port, _):
        references: list[str] = []
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        counter = iter(range(requests))
        stop_at = time.monotonic() + time_limit

        def worker() -> None:
            while time.monotonic() < stop_at:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                body = {
                    "address": f"Storgatan {n}",
                    "email": f"citizen{n}@example.se",
                    "notify_by": "email",
                    "consent": True,
                    "submission_id": str(uuid.uuid4()),
                }
                t0 = time.perf_counter()
                try:
                    status, raw = _call(port, "POST", f"/eservice/v1/forms/{SERVICE}", body)
                except OSError as exc:
                    status, raw = 0, repr(exc).encode()
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(elapsed)
                    if status == 201:
                        references.append(json.loads(raw)["reference"])
                    else:
                        failures.append(f"{status}: {raw[:200]!r}")

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        progress(f"throughput: {len(latencies)} requests in {wall:.1f} s, waiting for delivery")
        arrived = delivered(port, AGENCY, references, 60)
        lost = sorted(set(references) - arrived)
        delivery_s = time.perf_counter() - started
    return {
        "route": f"POST /eservice/v1/forms/{SERVICE}",
        "requested": requests,
        "sent": len(latencies),
        "filed": len(references),
        "failed": len(failures),
        "failures": failures[:5],
        "concurrency": concurrency,
        "wall_s": wall,
        "requests_per_s": len(latencies) / wall if wall else 0.0,
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": _percentile(latencies, 0.99) if latencies else float("nan"),
        "delivered_to_agency_queue": len(set(references) & arrived),
        "lost": len(lost),
        "all_delivered_after_s": delivery_s,
    }

"""Warm cost per invocation: CPU time of each handler with AWS answered at no cost.

Each function is invoked once against the embedded AWS (moto) to record the answer of every
operation it calls; from then on those answers are replayed from botocore's ``before-call``
hook (as botocore's Stubber does), so what is timed is the handler's own work: parsing,
validation, building and serializing the AWS requests, logging and metrics. The same events
go through the hand-written minimal handler in :mod:`bench.minimal`. CPU time is the
thread's (``time.thread_time``), so the local bus's background threads do not count.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench._child import fresh_event
from bench.awscalls import AwsCalls
from bench.events import bench_event
from bench.journey import bench_environment
from bench.minimal import REFERENCES
from citizenbus.local.runtime import LambdaContext, LocalBus
from functions import topology

BUDGET_RATIO = 2.0


def _fresh(event: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(event))
    return fresh_event(copy)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _time(
    handler: Callable[[dict[str, Any], Any], Any],
    event: dict[str, Any],
    context: Any,
    count: int,
    seconds: float,
) -> list[float]:
    events = [_fresh(event) for _ in range(count)]
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics lines
        for ev in events[:3]:  # warm up: first-call work (lazy imports, clients) is not warm cost
            handler(_fresh(ev), context)
        for ev in events:
            t0 = time.thread_time()
            handler(ev, context)
            samples.append((time.thread_time() - t0) * 1000)
            if time.monotonic() > deadline and len(samples) >= 50:
                break
    return samples


def measure(
    count: int = 400, seconds: float = 3.0, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Warm CPU per invocation of every function with an event, beside its minimal handler."""
    rows = []
    env = bench_environment() | {"POWERTOOLS_METRICS_DISABLED": "false"}
    with LocalBus(env=env, public_url=env["CITIZENBUS_PUBLIC_URL"]) as bus:
        calls = AwsCalls()
        calls.install()
        for fn in topology.FUNCTIONS:
            chosen = bench_event(fn)
            if chosen.event is None:
                rows.append({"function": fn.name, "event": chosen.source, "skipped": "import only"})
                continue
            context = LambdaContext(f"citizenbus-{fn.name}")
            handler = bus.handlers[fn.name]
            calls.mode = "record"
            calls.recorded.clear()
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    first = handler(_fresh(chosen.event), context)
            except Exception as exc:
                rows.append({"function": fn.name, "event": chosen.source, "skipped": repr(exc)})
                continue
            calls.mode = "replay"
            calls.unanswered.clear()
            samples = _time(handler, chosen.event, context, count, seconds)
            row: dict[str, Any] = {
                "function": fn.name,
                "event": chosen.source,
                "status": first.get("statusCode", "ok") if isinstance(first, dict) else "ok",
                "invocations": len(samples),
                "median_ms": statistics.median(samples),
                "p99_ms": _percentile(samples, 0.99),
                "aws_operations": sorted(f"{s}.{o}" for s, o in calls.recorded),
                "unanswered_calls": dict(calls.unanswered),
            }
            reference = REFERENCES.get(fn.name)
            if reference is not None:
                calls.mode = "record"
                calls.recorded.clear()
                with contextlib.redirect_stdout(io.StringIO()):
                    reference(_fresh(chosen.event), context)
                calls.mode = "replay"
                minimal = _time(reference, chosen.event, context, count, seconds)
                row["minimal_median_ms"] = statistics.median(minimal)
                row["minimal_p99_ms"] = _percentile(minimal, 0.99)
                row["ratio"] = row["median_ms"] / row["minimal_median_ms"]
                row["budget_ratio"] = BUDGET_RATIO
                row["within_budget"] = bool(row["ratio"] <= BUDGET_RATIO)
            calls.recorded.clear()
            rows.append(row)
            progress(f"warm cost: {fn.name} {row['median_ms']:.3f} ms")
        calls.mode = "count"
    return {"functions": rows}

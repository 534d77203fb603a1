"""Cold start per function against its floor, each sample a fresh process.

AWS is a moto server on a free loopback port, provisioned once from the topology and the
catalog (the same ``provision`` the local bus uses). The server counts the time it spends
answering, and that service time is taken off each sample: what is left is the function's
own init + first-invocation cost, which is what a faster or slower AWS does not change.
The budget is judged on CPU time (wall time is reported beside it).
Each process has the environment the synthesized template gives the function (its plain
values; the local bus's names for the resources it references), and starts as Lambda starts
it: AWS's runtime interface client imports the handler and hands it the event
(bench/_child.py says why that matters on Python 3.12). The floor of a function is a fresh
process whose handler module only imports boto3 and creates the same clients the function
created, run right after each of its samples; the budget is the median
of those paired ratios (the ratio of the two medians is reported beside it). Samples run
round-robin (every function once per round) so load on the machine spreads evenly over all.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.events import ROOT, bench_event
from bench.journey import bench_environment
from citizenbus.local import wiring
from citizenbus.local.aws import create_secrets, provision
from citizenbus.local.runtime import local_environment
from functions import topology
from functions.platform import process
from functions.platform.settings import get_settings
from schemas.catalog import load_catalog

CHILD = Path(__file__).resolve().parent / "_child.py"
BUDGET_RATIO = 1.5  # issue 19: CPU of import + first call, at most 1.5x its floor


class _ServiceClock:
    """Wraps the moto WSGI app and adds up the time spent answering requests."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.seconds = 0.0
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        t0 = time.perf_counter()
        body = b"".join(self.app(environ, start_response))
        with self.lock:
            self.seconds += time.perf_counter() - t0
            self.calls += 1
        return [body]

    def reset(self) -> None:
        with self.lock:
            self.seconds, self.calls = 0.0, 0


@contextmanager
def moto_server() -> Iterator[tuple[str, _ServiceClock]]:
    """A moto server on a free loopback port; yields its URL and its service clock."""
    # moto's server and werkzeug (~700 ms) only when the cold step runs
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - see above
        DomainDispatcherApplication,
        create_backend_app,
    )
    from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: PLC0415 - see above

    class Quiet(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:
            pass

    clock = _ServiceClock(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, clock, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="moto-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", clock
    finally:
        server.shutdown()
        thread.join(timeout=5)


def child_env(endpoint: str) -> dict[str, str]:
    """The environment a function runs in during the bench: the local bus's, AWS at ``endpoint``."""
    env = dict(os.environ)
    env.update(local_environment(bench_environment() | {"AWS_ENDPOINT_URL": endpoint}))
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def template_environment(function: str, secrets: dict[str, str]) -> dict[str, str]:
    """The variables the synthesized template gives ``function``: its plain values
    (Powertools' settings, the table names) and the ARNs of the secrets it reads (``secrets``:
    the ones :func:`provision_at` created), so the sample reads its secrets from Secrets Manager
    as the deployed function does. The other resources it references have the local bus's
    names in the environment already."""
    variables = wiring.load()["functions"].get(function, {}).get("environment", {})
    env = {key: value for key, value in variables.items() if isinstance(value, str)}
    env |= {key: secrets[key] for key in variables if key in secrets}
    return env


def provision_at(endpoint: str) -> dict[str, str]:
    """Create the tables, bus, rules, queues and secrets on the moto server at ``endpoint``;
    the secrets' ARN variables (``TWILIO_AUTH_TOKEN_SECRET_ARN``...)."""
    saved = dict(os.environ)
    try:
        os.environ.update(child_env(endpoint))
        process.reset()
        process.reset()
        provision(load_catalog(), get_settings().event_bus)
        return create_secrets()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        process.reset()
        process.reset()


def _run(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(  # noqa: S603 - our own child script
        [sys.executable, str(CHILD), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    data: dict[str, Any] = json.loads(lines[-1])
    return data


@dataclass
class ColdResult:
    function: str
    event_source: str
    kind: str
    uses_twilio: bool
    samples: list[dict[str, Any]] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    # a floor sample (boto3 and the same clients) taken right after each sample
    floors: list[dict[str, Any]] = field(default_factory=list)
    # SnapStart functions (topology ``snap_start``): the first invocation of a copy resumed
    # from the snapshot, after-restore hooks included (bench/_child.py ``restored``)
    restored: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        values = [s[key] for s in self.samples if key in s]
        return statistics.median(values) if values else float("nan")


def _median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def measure(
    samples: int = 10,
    progress: Callable[[str], None] = print,
    only: Iterable[str] = (),
) -> dict[str, Any]:
    """Cold start of every function in the topology (or of those named in ``only``) beside
    its floor; the report section."""
    chosen_names = set(only)
    results: dict[str, ColdResult] = {}
    with tempfile.TemporaryDirectory() as tmp, moto_server() as (endpoint, clock):
        secrets = provision_at(endpoint)
        env = child_env(endpoint)
        jobs: list[tuple[topology.Function, list[str]]] = []
        restores: list[tuple[topology.Function, list[str]]] = []
        for fn in topology.FUNCTIONS:
            if chosen_names and fn.name not in chosen_names:
                continue
            chosen = bench_event(fn)
            path = "-"
            if chosen.event is not None:
                path = str(Path(tmp) / f"{fn.name}.json")
                Path(path).write_text(json.dumps(chosen.event), encoding="utf-8")
            results[fn.name] = ColdResult(fn.name, chosen.source, chosen.kind, fn.uses_twilio)
            jobs.append((fn, ["handler", fn.handler, path, fn.name]))
            if fn.snap_start and chosen.event is not None:
                restores.append((fn, ["handler", fn.handler, path, fn.name, "restored"]))
        envs = {fn.name: env | template_environment(fn.name, secrets) for fn, _ in jobs}
        for round_ in range(samples):
            for fn, args in jobs:
                clock.reset()
                sample = _run(args, envs[fn.name])
                sample["aws_service_ms"] = clock.seconds * 1000
                sample["aws_calls"] = clock.calls
                if "total_ms" in sample:
                    sample["own_ms"] = sample["total_ms"] - sample["aws_service_ms"]
                result = results[fn.name]
                result.samples.append(sample)
                if not result.clients and sample.get("clients"):
                    result.clients = list(sample["clients"])
                # its floor right after it: the pair shares whatever the machine was doing
                result.floors.append(_run(["floor", ",".join(result.clients)], envs[fn.name]))
            for fn, args in restores:
                clock.reset()
                sample = _run(args, envs[fn.name])
                if "total_ms" in sample:
                    sample["own_ms"] = sample["total_ms"] - clock.seconds * 1000
                results[fn.name].restored.append(sample)
            progress(f"cold start: round {round_ + 1}/{samples}")
    rows = []
    for result in results.values():
        floor = _median(s["total_ms"] for s in result.floors if "total_ms" in s)
        floor_cpu = _median(s["cpu_ms"] for s in result.floors if "cpu_ms" in s)
        cpu = result.median("cpu_ms")
        own = result.median("own_ms")
        # the median of each sample over the floor sample taken right after it (the same
        # moment of the machine), beside the ratio of the two medians
        pairs = [
            (s["cpu_ms"], f["cpu_ms"])
            for s, f in zip(result.samples, result.floors, strict=True)
            if "cpu_ms" in s and f.get("cpu_ms")
        ]
        paired = _median(c / f for c, f in pairs)
        outcomes = sorted({str(s.get("outcome", s.get("error"))) for s in result.samples})
        twilio = any(s.get("twilio") for s in result.samples)
        ratio = own / floor if floor > 0 else float("nan")
        cpu_ratio = paired
        rows.append(
            {
                "function": result.function,
                "event": result.event_source,
                "kind": result.kind,
                "samples": len([s for s in result.samples if "total_ms" in s]),
                "import_ms": result.median("import_ms"),
                "first_call_ms": result.median("first_call_ms"),
                "aws_service_ms": result.median("aws_service_ms"),
                "aws_calls_first_call": result.median("aws_calls"),
                "cold_ms": own,
                "floor_ms": floor,
                "floor_clients": result.clients,
                "ratio": ratio,
                "cpu_ms": cpu,
                "floor_cpu_ms": floor_cpu,
                "cpu_ratio": cpu_ratio,
                "cpu_ratio_of_medians": cpu / floor_cpu if floor_cpu > 0 else float("nan"),
                "budget_ratio": BUDGET_RATIO,
                # Judged on CPU time: on an idle core it equals the wall time of this
                # import-bound work, and unlike wall time it does not swing with machine load.
                "within_budget": bool(cpu_ratio <= BUDGET_RATIO),
                "outcomes": outcomes,
                "uses_twilio": result.uses_twilio,
                "twilio_imported": twilio,
                "twilio_ok": result.uses_twilio or not twilio,
                "modules_loaded": result.median("modules"),
                # awslambdaric, or "direct" where it is not installed (bench/_child.py)
                "runtime": sorted({str(s.get("runtime")) for s in result.samples}),
                # SnapStart: CPU of the after-restore hooks + first call, against the floor
                "restored_cpu_ms": _median(s["cpu_ms"] for s in result.restored if "cpu_ms" in s),
                "restored_outcomes": sorted(
                    {str(s.get("outcome", s.get("error"))) for s in result.restored}
                ),
            }
        )
    return {"samples_per_function": samples, "functions": rows}


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.cold [--only sms,eservice] [--samples 7]``: a subset, printed."""
    import argparse  # noqa: PLC0415 - the command line only

    parser = argparse.ArgumentParser(description="cold start CPU ratios against the floor")
    parser.add_argument("--only", default="", help="function names, comma-separated")
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    report = measure(args.samples, progress=lambda _: None, only=names)
    for row in report["functions"]:
        print(
            f"{row['function']:18} cpu {row['cpu_ms']:6.1f} ms  floor {row['floor_cpu_ms']:6.1f} ms"
            f"  ratio {row['cpu_ratio']:.2f}x (medians {row['cpu_ratio_of_medians']:.2f}x)"
            f"  import {row['import_ms']:6.1f} ms"
            f"  first call {row['first_call_ms']:6.1f} ms  calls {row['aws_calls_first_call']:.0f}"
            f"  {row['outcomes']}"
        )


if __name__ == "__main__":
    main()

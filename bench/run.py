# ruff: noqa: E501 - Markdown table rows read best one per line
"""``make bench``: measure everything and write ``bench/report.json`` and ``bench/report.md``.

Also refreshes the figures on the docs' performance page (docs/performance.md, between the
``bench:begin`` / ``bench:end`` markers). ``--strict`` exits 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cold, journey, price, size, throughput, warm
from bench.events import ROOT

OUT = ROOT / "bench"
README = ROOT / "docs" / "performance.md"  # the page that shows the figures
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def _kb(value: int) -> str:
    return f"{value / 1024:.0f} KB" if value < 1024 * 1024 else f"{value / 1024 / 1024:.1f} MB"


def _ok(flag: bool) -> str:
    return "yes" if flag else "**NO**"


def budgets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every budget with its figure, and whether it holds."""
    out: list[dict[str, Any]] = []
    for row in report["cold_start"]["functions"]:
        if row["kind"] == "import-only" and math.isnan(row["floor_ms"]):
            continue
        out.append(
            {
                "budget": f"cold start {row['function']} <= {cold.BUDGET_RATIO:g}x floor",
                "figure": f"{row['cpu_ratio']:.2f}x CPU, median of paired samples ({_ms(row['cpu_ms'])} vs {_ms(row['floor_cpu_ms'])} ms, {row['cpu_ratio_of_medians']:.2f}x of the medians; wall {row['ratio']:.2f}x)",
                "holds": row["within_budget"],
            }
        )
        if not row["twilio_ok"]:
            out.append(
                {
                    "budget": f"{row['function']} never imports twilio",
                    "figure": "twilio imported",
                    "holds": False,
                }
            )
    twilio_clean = all(r["twilio_ok"] for r in report["cold_start"]["functions"])
    out.append(
        {
            "budget": "twilio only in functions that send SMS",
            "figure": "checked after first call",
            "holds": twilio_clean,
        }
    )
    for row in report["warm_cost"]["functions"]:
        if "ratio" in row:
            out.append(
                {
                    "budget": f"warm cost {row['function']} <= 2x minimal handler",
                    "figure": f"{row['ratio']:.2f}x ({_ms(row['median_ms'])} vs {_ms(row['minimal_median_ms'])} ms CPU)",
                    "holds": row["within_budget"],
                }
            )
    for trip in report["aws_calls"]["journeys"]:
        out.append(
            {
                "budget": f"sync intake path via {trip['channel']} <= 2 AWS calls",
                "figure": f"{trip['sync_calls']} ({', '.join(trip['sync_operations']) or 'none'})",
                "holds": trip["within_budget"],
            }
        )
    tp = report.get("throughput")
    if tp:
        out.append(
            {
                "budget": "local burst: zero lost",
                "figure": f"{tp['lost']} lost of {tp['filed']}",
                "holds": tp["lost"] == 0 and tp["failed"] == 0,
            }
        )
    return out


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# citizenbus performance report",
        "",
        f"Measured {m['date']} on {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"{m['platform']}; load average at start {', '.join(f'{x:.1f}' for x in m['load_average_at_start'] or [])}. "
        f"`make bench` took {report['elapsed_s']:.0f} s.",
        "",
        "## Budgets",
        "",
        "| budget | figure | holds |",
        "|---|---|---|",
    ]
    lines += [f"| {b['budget']} | {b['figure']} | {_ok(b['holds'])} |" for b in report["budgets"]]
    cold = report["cold_start"]
    lines += [
        "",
        "## Cold start per function",
        "",
        f"Median of {cold['samples_per_function']} fresh processes each, each started as Lambda starts it (AWS's "
        "runtime interface client imports the handler module and hands it its first invocation), AWS answered "
        "by a moto server on loopback whose service time is taken off. Floor: a fresh process whose handler "
        "module only imports boto3 and creates the same clients, run right after each sample. The budget is "
        "judged on CPU time, which a busy machine does not inflate the way it inflates wall time (wall time is "
        "shown beside it), as the median of each sample's ratio to the floor taken right after it."
        + (
            " **Started from the bench's own frames** (`awslambdaric` is not installed here: it ships"
            " for Linux only), so the figures may differ from Lambda's by the frame-stack effect"
            " docs/performance.md describes (part G)."
            if any("direct" in r.get("runtime", ()) for r in cold["functions"])
            else ""
        ),
        "",
        "| function | event | import ms | first call ms | AWS service ms (excluded) | cold ms | floor ms (clients) | ratio | CPU ms (floor) | CPU ratio | twilio loaded | outcome |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in cold["functions"]:
        lines.append(
            f"| {r['function']} | {r['event']} | {_ms(r['import_ms'])} | {_ms(r['first_call_ms'])} | "
            f"{_ms(r['aws_service_ms'])} | {_ms(r['cold_ms'])} | {_ms(r['floor_ms'])} ({', '.join(r['floor_clients']) or 'boto3 only'}) | "
            f"{r['ratio']:.2f}x | {_ms(r['cpu_ms'])} ({_ms(r['floor_cpu_ms'])}) | {r['cpu_ratio']:.2f}x | {'yes' if r['twilio_imported'] else 'no'}{'' if r['twilio_ok'] else ' **(must not)**'} | "
            f"{', '.join(r['outcomes'])} |"
        )
    restored = [r for r in cold["functions"] if r.get("restored_outcomes")]
    if restored:
        lines += [
            "",
            "### Restored from a SnapStart snapshot",
            "",
            "The functions with `snap_start` in the topology (SnapStart in production): the same first "
            "invocation in a process that imported the handler and ran the before-snapshot hooks "
            "before the clock started, as Lambda does when it publishes the version; timed are the "
            "after-restore hooks and the first invocation, what a copy resumed from the snapshot does.",
            "",
            "| function | restored CPU ms | cold CPU ms | floor CPU ms | restored / floor | outcome |",
            "|---|---|---|---|---|---|",
        ]
        for r in restored:
            lines.append(
                f"| {r['function']} | {_ms(r['restored_cpu_ms'])} | {_ms(r['cpu_ms'])} | "
                f"{_ms(r['floor_cpu_ms'])} | {r['restored_cpu_ms'] / r['floor_cpu_ms']:.2f}x | "
                f"{', '.join(r['restored_outcomes'])} |"
            )
    warm = report["warm_cost"]
    lines += [
        "",
        "## Warm cost per invocation",
        "",
        "CPU time of the calling thread per invocation, AWS answered from botocore's `before-call` hook "
        "with answers recorded from moto (nothing signed, sent or parsed), Powertools metrics on (EMF to a buffer). "
        "Reference: the hand-written minimal handler in `bench/minimal.py` (same validation, same calls).",
        "",
        "| function | invocations | median ms | p99 ms | minimal median ms | minimal p99 ms | ratio | AWS operations |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in warm["functions"]:
        if "skipped" in r:
            lines.append(f"| {r['function']} | {r['skipped']} | | | | | | |")
            continue
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "no reference"
        lines.append(
            f"| {r['function']} | {r['invocations']} | {_ms(r['median_ms'])} | {_ms(r['p99_ms'])} | "
            f"{_ms(r.get('minimal_median_ms', math.nan))} | {_ms(r.get('minimal_p99_ms', math.nan))} | {ratio} | "
            f"{', '.join(r['aws_operations']) or 'none'} |"
        )
    calls = report["aws_calls"]
    lines += [
        "",
        "## AWS calls per citizen request",
        "",
        "Counted with botocore `before-call` hooks over a whole journey on an in-process local bus. "
        "Sync = calls made while the filing route's function answers the citizen; rest = every other "
        "function's calls in the journey. Event source mapping calls (stream and queue polling, done by "
        "Lambda in AWS) are listed apart.",
        "",
        "| channel | sync calls | sync operations | rest calls | rest operations | invocations | journey |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in calls["journeys"]:
        lines.append(
            f"| {t['channel']} | {t['sync_calls']} | {_ops(t['sync_operations'])} | {t['rest_calls']} | "
            f"{_ops(t['rest_operations'])} | {_ops(t['invocations'])} | {'; '.join(t['steps'])} |"
        )
    price = report["price"]
    lines += [
        "",
        f"## Price per million citizen requests ({price['region']}, prices as of {price['prices_as_of']})",
        "",
        "| channel | AWS USD per million requests | biggest items | full journey measured |",
        "|---|---|---|---|",
    ]
    for c in price["channels"]:
        top = sorted(c["breakdown_usd_per_million"].items(), key=lambda kv: -kv[1])[:4]
        lines.append(
            f"| {c['channel']} | ${c['aws_usd_per_million']:.2f} | "
            f"{', '.join(f'{k} ${v:.2f}' for k, v in top)} | {'yes' if c['complete_journey'] else 'no (no agency API yet)'} |"
        )
    d = price["delivery_usd_per_million"]
    lines += [
        "",
        f"Delivery, separately, at {d['notifications_per_request']} notifications per request "
        "(the filing receipt and 2 status changes): "
        f"SMS ${d['sms']:,.0f} per million requests, e-mail ${d['email']:,.0f} per million requests.",
        "",
        "| unit | USD |",
        "|---|---|",
    ]
    lines += [f"| {u['unit']} | {u['usd']:.10g} |" for u in price["unit_prices"].values()]
    lines += ["", "Assumptions: " + " ".join(price["assumptions"]["notes"])]
    size = report["deployment_size"]
    lines += [
        "",
        "## Deployment size",
        "",
        "| asset | zip | unzipped | files |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| function {r['function']} (+ layers {', '.join(r['layers'])}) | {_kb(r['zip_bytes'])} | {_kb(r['unzipped_bytes'])} | {r['files']} |"
        for r in size["functions"]
    ]
    lines += [
        f"| layer {layer['layer']} ({', '.join(layer['packages'])}) | {_kb(layer['zip_bytes'])} | {_kb(layer['unzipped_bytes'])} | {layer['files']} |"
        for layer in size["layers"]
    ]
    lines += [
        "",
        f"boto3, botocore and their own dependencies come with the Lambda runtime "
        f"({', '.join(size['runtime_provided'])}); wheels measured are this machine's ({platform.machine()}).",
    ]
    tp = report.get("throughput")
    if tp:
        lines += [
            "",
            "## Local bus throughput",
            "",
            f"`citizenbus serve` on a free loopback port, {tp['sent']} x `{tp['route']}` from "
            f"{tp['concurrency']} client threads: **{tp['requests_per_s']:.1f} requests/s**, p50 "
            f"{_ms(tp['p50_ms'])} ms, p99 {_ms(tp['p99_ms'])} ms; {tp['filed']} filed, {tp['failed']} failed, "
            f"{tp['delivered_to_agency_queue']} reached the agency queue, **{tp['lost']} lost** "
            f"(all delivered {tp['all_delivered_after_s']:.1f} s after the first request).",
        ]
    return "\n".join(lines) + "\n"


def _ops(ops: dict[str, int]) -> str:
    return ", ".join(f"{k} x{v}" if v > 1 else k for k, v in ops.items()) or "none"


def readme_summary(report: dict[str, Any]) -> str:
    m = report["machine"]
    held = [b for b in report["budgets"] if b["holds"]]
    missed = [b for b in report["budgets"] if not b["holds"]]
    lines = [
        BEGIN,
        f"Latest run: {m['date']}, {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}; "
        f"{len(held)} of {len(report['budgets'])} budgets hold. Full report: `bench/report.md`.",
        "",
        "| function | cold start CPU ms (floor) | wall ms (floor) | warm CPU ms median / p99 (minimal) | deployment zip |",
        "|---|---|---|---|---|",
    ]
    warm = {r["function"]: r for r in report["warm_cost"]["functions"]}
    size = {r["function"]: r for r in report["deployment_size"]["functions"]}
    for r in report["cold_start"]["functions"]:
        w = warm.get(r["function"], {})
        warm_text = (
            f"{_ms(w['median_ms'])} / {_ms(w['p99_ms'])} ({_ms(w.get('minimal_median_ms', math.nan))})"
            if "median_ms" in w
            else "import only"
        )
        lines.append(
            f"| {r['function']} | {_ms(r['cpu_ms'])} ({_ms(r['floor_cpu_ms'])}) | {_ms(r['cold_ms'])} ({_ms(r['floor_ms'])}) | {warm_text} | "
            f"{_kb(size[r['function']]['zip_bytes'])} |"
        )
    trips = report["aws_calls"]["journeys"]
    lines += [
        "",
        "AWS calls on the synchronous intake path: "
        + ", ".join(f"{t['channel']} {t['sync_calls']}" for t in trips)
        + "; price per million citizen requests (AWS, "
        + report["price"]["region"]
        + "): "
        + ", ".join(
            f"{c['channel']} ${c['aws_usd_per_million']:.2f}" for c in report["price"]["channels"]
        )
        + ".",
    ]
    lines.append(
        "Layers: "
        + ", ".join(
            f"{layer['layer']} {_kb(layer['zip_bytes'])} zipped ({_kb(layer['unzipped_bytes'])} unzipped)"
            for layer in report["deployment_size"]["layers"]
        )
        + "."
    )
    tp = report.get("throughput")
    if tp:
        lines.append(
            f"Local bus: {tp['requests_per_s']:.1f} requests/s, p50 {_ms(tp['p50_ms'])} ms, "
            f"p99 {_ms(tp['p99_ms'])} ms, {tp['lost']} lost of {tp['filed']}."
        )
    if missed:
        lines += [
            "",
            "Budgets missed: " + "; ".join(f"{b['budget']}: {b['figure']}" for b in missed) + ".",
        ]
    lines.append(END)
    return "\n".join(lines)


def update_readme(report: dict[str, Any]) -> bool:
    if not README.exists():
        return False
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        return False
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    README.write_text(head + readme_summary(report) + tail, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--samples", type=int, default=10, help="cold-start processes per function")
    parser.add_argument("--requests", type=int, default=300, help="local throughput burst size")
    parser.add_argument("--quick", action="store_true", help="3 samples, 60 requests (a smoke run)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is missed")
    parser.add_argument("--no-readme", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.requests = 3, 60
    warnings.filterwarnings("ignore")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine()}
    steps: list[tuple[str, Any]] = [
        ("deployment_size", size.measure),
        ("aws_calls", lambda: journey.measure(progress=_progress)),
        ("warm_cost", lambda: warm.measure(progress=_progress)),
        ("cold_start", lambda: cold.measure(samples=args.samples, progress=_progress)),
        ("throughput", lambda: throughput.measure(requests=args.requests, progress=_progress)),
    ]
    for name, step in steps:
        t0 = time.perf_counter()
        print(f"bench: {name}", file=sys.stderr, flush=True)
        report[name] = step()
        report.setdefault("step_seconds", {})[name] = round(time.perf_counter() - t0, 1)
    report["price"] = price.measure(report["aws_calls"], report["warm_cost"])
    for trip in report["aws_calls"]["journeys"]:
        trip.pop("_params", None)
    report["elapsed_s"] = time.perf_counter() - started
    report["budgets"] = budgets(report)
    (OUT / "report.json").write_text(
        json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8"
    )
    (OUT / "report.md").write_text(markdown(report), encoding="utf-8")
    if not args.no_readme:
        update_readme(report)
    missed = [b for b in report["budgets"] if not b["holds"]]
    print(
        f"bench: wrote bench/report.md and bench/report.json in {report['elapsed_s']:.0f} s",
        file=sys.stderr,
    )
    for b in report["budgets"]:
        print(f"  {'ok  ' if b['holds'] else 'MISS'} {b['budget']}: {b['figure']}", file=sys.stderr)
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

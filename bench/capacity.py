# ruff: noqa: E501 - Markdown table rows read best one per line
"""``make capacity``: does the bus survive its deadline day? Writes bench/capacity.md and .json.

The model takes what ``make bench`` measured (bench/report.json: AWS calls per journey and
channel, warm CPU per function, billing units per journey) and a load profile (filings per
day, the peak rate, the channel mix), and sets the demand at the peak against every quota in
bench/quotas.json (AWS's published defaults, each with its source and the date it was read)
and against the limits the design sets itself (functions/topology.py: route throttles,
reserved concurrency). Each limit gets its headroom (limit / demand; under 1 breaks); the
first to break is the one with the least. The same model runs again with the deadline-day
design (``DEADLINE_DAY``), and prices the day. A bounded simulation of the peak minute drives
filings over HTTP into ``citizenbus serve`` on loopback and counts the AWS calls it makes,
to check the model's per-filing figures.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import price
from bench.events import ROOT
from bench.throughput import _call, delivered, serving

QUOTAS = ROOT / "bench" / "quotas.json"
REPORT = ROOT / "bench" / "report.json"
OUT = ROOT / "bench"

# Neither the catalog nor a seed file carries channel weights, so the default mix is stated
# here: the app first, then the web e-service, then SMS (a tax agency's approvals by SMS).
DEFAULT_MIX = {"app": 0.5, "eservice": 0.3, "sms": 0.2}
# How each channel's filer hears back (the receipt at the peak): app push, e-service e-mail,
# SMS by SMS. The route class is topology.throttle_class of the channel's filing route.
NOTIFY_BY = {"app": "push", "eservice": "email", "sms": "sms"}
ROUTE_CLASS = {"app": "citizen", "eservice": "citizen", "sms": "twilio"}
EVENT_CONSUMERS = ("outbox_publisher", "webhook_delivery", "notifier")  # invoked per event
AGENCY_WEBHOOK_MS = 100.0  # webhook_delivery's POST to the agency's endpoint
PROVIDER_API_MS = 100.0  # notifier's call to Twilio / SES / SNS
ENTRIES_PER_PUT = 10  # functions/platform/bus.py MAX_ENTRIES: the publisher's batch at load


@dataclass(frozen=True)
class Profile:
    filings_per_day: int = 2_000_000
    peak_per_s: float = 1000.0
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    region: str = "eu-north-1"
    burst_seconds: float = 1.0  # the arrivals API Gateway's bucket must hold at once
    hottest_agency_share: float = 1.0  # deadline day: one agency's service takes the peak
    agency_reads_per_filing: float = 1.0  # the agency fetches each filing (an audit write)


@dataclass(frozen=True)
class Design:
    name: str
    eb_targets_per_event: int  # rule targets one event fills (each an EventBridge invocation)
    direct_queues_per_event: int = 0  # queues the publisher fills itself (SendMessageBatch)
    sms_senders: int = 1
    sms_sender_quota: str = "twilio_long_code_mps"
    quota_overrides: dict[str, float] = field(default_factory=dict)  # increases requested
    throttle_overrides: dict[str, int] = field(default_factory=dict)  # route class -> rps
    reserved_overrides: dict[str, int] = field(default_factory=dict)
    changes: tuple[str, ...] = ()
    # each change with its status: "built" (deployed by the deadline-day switch or the code),
    # "request" (to AWS or Twilio, with its lead time), "not built" (a design modelled only)
    steps: tuple[dict[str, str], ...] = ()


# How the built part of the deadline-day design is switched on (docs/operations.md).
DEADLINE_DAY_COMMAND = "cdk deploy -c deadline_day=true"
STATUS_LABEL = {
    "built": f"BUILT (`{DEADLINE_DAY_COMMAND}`)",
    "built_parameter": "BUILT (stack parameter `TwilioMessagingServiceSid`)",
    "request": "REQUEST",
    "not built": "NOT BUILT (design modelled only)",
    "short": "BUILT BUT SHORT",
}


# ---------------------------------------------------------------- inputs


def load_quotas(path: Path = QUOTAS) -> dict[str, dict[str, Any]]:
    quotas: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["quotas"]
    return quotas


def quota_value(quota: dict[str, Any], region: str) -> float:
    return float(quota.get("by_region", {}).get(region, quota["default"]))


def targets_per_event() -> int:
    """EventBridge targets one filing event fills in AWS (infra/cdk/bus_construct.py): its
    agency's rule (the agency queue + every per-agency queue of a function) and one rule per
    subscribing function whose event types include it."""
    from functions import topology  # noqa: PLC0415 - the model's tests need no topology

    per_agency = 1 + sum(1 for fn in topology.FUNCTIONS for q in fn.queues if "{agency}" in q)
    subscribers = sum(1 for fn in topology.FUNCTIONS if fn.subscribes)
    return per_agency + subscribers


def design_limits() -> dict[str, Any]:
    """The limits the design sets itself: route throttles and reserved concurrency."""
    from functions import topology  # noqa: PLC0415 - see targets_per_event

    return {
        "throttles": {k: v[0] for k, v in topology.THROTTLES.items()},
        "reserved": {
            fn.name: fn.reserved_concurrency
            for fn in topology.FUNCTIONS
            if fn.reserved_concurrency is not None
        },
        # what `cdk deploy -c deadline_day=true` deploys (functions/topology.py DEADLINE_DAY_*)
        "deadline_day": {
            "throttles": {k: v[0] for k, v in topology.DEADLINE_DAY_THROTTLES.items()},
            "reserved": {
                fn.name: fn.deadline_day_reserved_concurrency
                for fn in topology.FUNCTIONS
                if fn.deadline_day_reserved_concurrency is not None
            },
            "warm_writes": {t: w for t, (_, w) in topology.DEADLINE_DAY_WARM_THROUGHPUT.items()},
        },
    }


def lambda_queues() -> int:
    """SQS queues Lambda polls (each costs its pollers' empty receives when idle)."""
    from functions import topology  # noqa: PLC0415 - see targets_per_event
    from functions.platform.catalog import get_catalog  # noqa: PLC0415 - see above

    agencies = len(get_catalog().agency_ids())
    return sum(
        (agencies if "{agency}" in q else 1) for fn in topology.FUNCTIONS for q in fn.queues
    ) + sum(1 for fn in topology.FUNCTIONS if fn.subscribes)


def per_filing(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What one filing costs at the peak, per channel, from the bench's journeys.

    The journey files a request and the agency changes its status twice: three events. At
    the peak a filing is one event; its downstream share is the journey's calls, billing
    units and event-driven invocations divided by its events (the status changes' agency
    calls spread over them too: an upper bound)."""
    scale = price.FULL_VCPU_MEMORY_MB / price.MEMORY_MB
    cpu = {
        r["function"]: r["median_ms"] for r in report["warm_cost"]["functions"] if "median_ms" in r
    }
    fallback = max(cpu.values(), default=5.0)
    units = {c["channel"]: c["units_per_request"] for c in report["price"]["channels"]}
    out: dict[str, dict[str, Any]] = {}
    for trip in report["aws_calls"]["journeys"]:
        events = max(1, trip["invocations"].get("outbox_publisher", 1))
        u = units[trip["channel"]]
        fn = trip["function"]
        out[trip["channel"]] = {
            "function": fn,
            "events_in_journey": events,
            "sync_calls": trip["sync_calls"],
            "async_calls_per_event": trip["rest_calls"] / events,
            "sync_ms": cpu.get(fn, fallback) * scale
            + trip["sync_calls"] * price.AWS_LATENCY_MS_PER_CALL,
            "event_ms": {f: cpu.get(f, fallback) * scale for f in EVENT_CONSUMERS},
            "wru_per_event": u.get("dynamodb_wru", 0) / events,
            "rru_per_event": u.get("dynamodb_rru", 0) / events,
            "sqs_messages_per_event": trip["sqs_messages"] / events,
            "journey_units": u,
            "journey_sqs_messages": trip["sqs_messages"],
        }
    return out


# ---------------------------------------------------------------- the model


def _check(
    key: str,
    what: str,
    kind: str,
    demand: float,
    limit: float,
    unit: str,
    when_broken: str,
    fix: str,
    source: str = "",
    *,
    queued: bool = False,
) -> dict[str, Any]:
    """One limit at the peak. ``queued``: over the limit, a queue holds the work (it lags, nothing
    is refused or lost), which is reported apart from what breaks."""
    headroom = limit / demand if demand > 0 else math.inf
    return {
        "key": key,
        "what": what,
        "kind": kind,
        "demand": demand,
        "limit": limit,
        "unit": unit,
        "headroom": headroom,
        "breaks": demand > limit and not queued,
        "lags": demand > limit and queued,
        "when_broken": when_broken,
        "fix": fix,
        "source": source,
    }


def model(
    filing: dict[str, dict[str, Any]],
    quotas: dict[str, dict[str, Any]],
    profile: Profile,
    design: Design,
    limits: dict[str, Any],
    table_split: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Every limit's demand at the peak and its headroom; the first to break."""
    region = profile.region
    lat = price.AWS_LATENCY_MS_PER_CALL

    def q(key: str) -> float:
        return float(design.quota_overrides.get(key, quota_value(quotas[key], region)))

    def src(key: str) -> str:
        return f"{quotas[key]['source']} (read {quotas[key]['read']})"

    rates = {c: profile.peak_per_s * share for c, share in profile.mix.items() if c in filing}
    events = sum(rates.values())  # one event per filing at the peak
    checks: list[dict[str, Any]] = []
    http = events
    checks.append(
        _check(
            "apigw_account_rps",
            "API Gateway account rps",
            "AWS quota",
            http,
            q("apigw_account_rps"),
            "requests/s",
            "429 to the citizen",
            "quota increase",
            src("apigw_account_rps"),
        )
    )
    checks.append(
        _check(
            "apigw_account_burst",
            "API Gateway account burst",
            "AWS quota",
            http * profile.burst_seconds,
            q("apigw_account_burst"),
            "requests at once",
            "429 to the citizen",
            "not adjustable: smooth the start (stagger the agency's announcement)",
            src("apigw_account_burst"),
        )
    )
    throttles = {**limits["throttles"], **design.throttle_overrides}
    for channel, rate in sorted(rates.items()):
        cls = ROUTE_CLASS[channel]
        checks.append(
            _check(
                f"route_throttle_{channel}",
                f"HTTP API route throttle, {channel} filing route (class {cls})",
                "design (topology.THROTTLES)",
                rate,
                throttles[cls],
                "requests/s",
                "429 to the citizen (Twilio: the text goes unanswered)",
                "raise the filing routes' class for the day; keep lookup small",
            )
        )
    # Lambda: concurrency = arrivals x duration, per function and in all
    concurrency: dict[str, float] = {}
    for channel, rate in rates.items():
        f = filing[channel]
        concurrency[f["function"]] = (
            concurrency.get(f["function"], 0.0) + rate * f["sync_ms"] / 1000
        )
    mixw = {c: r / events for c, r in rates.items()} if events else {}
    for fn in EVENT_CONSUMERS:
        ms = sum(mixw[c] * filing[c]["event_ms"][fn] for c in rates)
        ms += (
            sum(mixw[c] * filing[c]["async_calls_per_event"] for c in rates)
            * lat
            / len(EVENT_CONSUMERS)
        )
        ms += {"webhook_delivery": AGENCY_WEBHOOK_MS, "notifier": PROVIDER_API_MS}.get(fn, 0.0)
        concurrency[fn] = concurrency.get(fn, 0.0) + events * ms / 1000
    checks.append(
        _check(
            "lambda_concurrency",
            "Lambda concurrent executions (account)",
            "AWS quota",
            sum(concurrency.values()),
            q("lambda_concurrency"),
            "executions",
            "429 (sync) / retried (async)",
            "quota increase",
            src("lambda_concurrency"),
        )
    )
    busiest = max(concurrency, key=lambda k: concurrency[k])
    checks.append(
        _check(
            "lambda_scaling_rate",
            f"Lambda scaling rate, busiest function ({busiest}) from cold in 10 s",
            "AWS quota",
            concurrency[busiest],
            q("lambda_scaling_rate"),
            "environments per 10 s",
            "429 while it scales",
            "provisioned concurrency before the announcement",
            src("lambda_scaling_rate"),
        )
    )
    reserved = {**limits["reserved"], **design.reserved_overrides}
    for fn, cap in sorted(reserved.items()):
        if fn in concurrency and cap:
            sync = fn in {filing[c]["function"] for c in rates}
            checks.append(
                _check(
                    f"reserved_{fn}",
                    f"reserved concurrency of {fn}",
                    "design (topology reserved_concurrency)",
                    concurrency[fn],
                    cap,
                    "executions",
                    "429 to Twilio: the text goes unanswered"
                    if sync
                    else "queue backlog: delayed, not lost",
                    "raise it for the day"
                    if sync
                    else f"accept the lag: drains at {cap / (concurrency[fn] / events):.0f}/s",
                    queued=not sync,
                )
            )
    # EventBridge
    checks.append(
        _check(
            "eventbridge_putevents",
            f"EventBridge PutEvents ({events:.0f} entries/s in batches of {ENTRIES_PER_PUT})",
            "AWS quota",
            events / ENTRIES_PER_PUT,
            q("eventbridge_putevents"),
            "requests/s",
            "outbox publisher retries; events late",
            "quota increase",
            src("eventbridge_putevents"),
        )
    )
    checks.append(
        _check(
            "eventbridge_invocations",
            f"EventBridge target invocations ({design.eb_targets_per_event} per event)",
            "AWS quota",
            events * design.eb_targets_per_event,
            q("eventbridge_invocations"),
            "invocations/s",
            "delayed and retried up to 24 h: agencies and citizens hear late",
            "fewer targets per event, or quota increase",
            src("eventbridge_invocations"),
        )
    )
    # DynamoDB: per table (split measured by the simulation) or all on one table (upper bound)
    wru = sum(rates[c] * filing[c]["wru_per_event"] for c in rates)
    rru = sum(rates[c] * filing[c]["rru_per_event"] for c in rates)
    split = table_split or {"(all tables; upper bound)": {"dynamodb_wru": 1.0, "dynamodb_rru": 1.0}}
    for table, share in sorted(split.items()):
        checks.append(
            _check(
                f"dynamodb_writes_{table}",
                f"DynamoDB new on-demand table writes, {table}",
                "AWS quota",
                wru * share.get("dynamodb_wru", 0.0),
                q("dynamodb_table_initial_writes"),
                "WRU/s",
                "throttled; SDK retries, then 5xx",
                "set warm throughput on the table before the day",
                src("dynamodb_table_initial_writes"),
            )
        )
        checks.append(
            _check(
                f"dynamodb_reads_{table}",
                f"DynamoDB new on-demand table reads, {table}",
                "AWS quota",
                rru * share.get("dynamodb_rru", 0.0),
                q("dynamodb_table_initial_reads"),
                "RRU/s",
                "throttled; SDK retries",
                "set warm throughput",
                src("dynamodb_table_initial_reads"),
            )
        )
    hot = events * profile.hottest_agency_share
    checks.append(
        _check(
            "dynamodb_hot_subscriptions",
            "hot key: subscriptions[agency] read per delivery (strongly consistent, 1 RRU)",
            "AWS quota",
            hot,
            q("dynamodb_partition_reads"),
            "RRU/s per key",
            "throttled reads; deliveries retried",
            "cache the subscription per warm environment",
            src("dynamodb_partition_reads"),
        )
    )
    checks.append(
        _check(
            "dynamodb_hot_agency_audit",
            "hot key: agency_audit[agency] write per agency read",
            "AWS quota",
            hot * profile.agency_reads_per_filing,
            q("dynamodb_partition_writes"),
            "WRU/s per key",
            "throttled agency reads",
            "shard the audit key (agency#0..9)",
            src("dynamodb_partition_writes"),
        )
    )
    # SQS: in flight per queue = the consumer's concurrency x batch of 10
    in_flight = (
        max(
            min(concurrency.get(fn, 0.0), reserved.get(fn) or math.inf)
            for fn in ("webhook_delivery", "notifier")
        )
        * 10
    )
    checks.append(
        _check(
            "sqs_in_flight",
            "SQS messages in flight, busiest Lambda-polled queue",
            "AWS quota",
            in_flight,
            q("sqs_in_flight"),
            "messages",
            "receives return nothing until deletes",
            "none needed",
            src("sqs_in_flight"),
        )
    )
    # Delivery: receipts at the peak
    by = {"email": 0.0, "sms": 0.0, "push": 0.0}
    for c, r in rates.items():
        by[NOTIFY_BY[c]] += r
    checks.append(
        _check(
            "ses_send_rate",
            "SES sending rate (receipts by e-mail)",
            "AWS quota",
            by["email"],
            q("ses_send_rate"),
            "e-mails/s",
            "SES refuses; notifier retries via its queue, receipts late",
            "production access + rate increase",
            src("ses_send_rate"),
        )
    )
    sender_rate = quota_value(quotas[design.sms_sender_quota], region) * design.sms_senders
    checks.append(
        _check(
            "twilio_mps",
            f"Twilio MPS, {design.sms_senders} sender(s) at {quotas[design.sms_sender_quota]['default']} MPS ({design.sms_sender_quota})",
            "provider limit",
            by["sms"],
            sender_rate,
            "SMS/s",
            "Twilio queues up to 4 h, then fails the message",
            "a Messaging Service sender pool sized to the peak",
            src(design.sms_sender_quota),
        )
    )
    ordered = sorted(checks, key=lambda c: c["headroom"])
    broken = [c for c in ordered if c["breaks"]]
    aws = [c for c in ordered if c["kind"] == "AWS quota"]
    return {
        "design": asdict(design),
        "profile": asdict(profile),
        "peak_rates": rates,
        "concurrency": concurrency,
        "checks": ordered,
        "first_to_break": broken[0]["key"] if broken else None,
        "first_aws_quota_to_break": next((c["key"] for c in aws if c["breaks"]), None),
        "broken": [c["key"] for c in broken],
        "lagging": [c["key"] for c in ordered if c["lags"]],
    }


def day_bill(
    filing: dict[str, dict[str, Any]],
    profile: Profile,
    design: Design,
    queues: int,
    batch_fill: float = 10.0,
) -> dict[str, Any]:
    """The day's AWS bill (price.py's list prices, SQS as Lambda's pollers bill it) and SMS bill."""
    usd = {k: v for k, (v, _) in price.UNIT_PRICES.items()}
    aws = 0.0
    sms = 0.0
    for channel, share in profile.mix.items():
        if channel not in filing:
            continue
        f = filing[channel]
        n = profile.filings_per_day * share
        units = dict(f["journey_units"])
        # SQS: drop the bench's 3 requests per message for send + batched receive/delete
        units["sqs_request"] = (
            units.get("sqs_request", 0.0)
            - price.sqs_requests(f["journey_sqs_messages"])
            + price.sqs_requests(f["journey_sqs_messages"], batch_fill)
        )
        if design.direct_queues_per_event:  # the publisher's SendMessageBatch replaces targets
            per_event = design.direct_queues_per_event * (1 - 1 / price.SQS_BATCH)
            units["sqs_request"] -= per_event * f["events_in_journey"]
        aws += n * sum(
            usd[k] * v
            for k, v in units.items()
            if k in usd and k not in {"sms_segment", "ses_email"}
        )
        notifications = f["events_in_journey"]  # receipt + each status change
        if NOTIFY_BY[channel] == "sms":
            sms += n * notifications * usd["sms_segment"]
        elif NOTIFY_BY[channel] == "email":
            aws += n * notifications * usd["ses_email"]
        else:
            aws += n * notifications * usd["sns_publish"]
    idle = price.sqs_idle_requests_per_day(queues) * usd["sqs_request"]
    return {
        "aws_usd": aws + idle,
        "sqs_idle_usd": idle,
        "sms_usd": sms,
        "total_usd": aws + idle + sms,
    }


AS_BUILT = Design(name="as built", eb_targets_per_event=3)


def deadline_day(
    as_built: Design,
    result: dict[str, Any],
    quotas: dict[str, dict[str, Any]],
    region: str,
    built: dict[str, Any] | None = None,
) -> Design:
    """The design changes and quota requests that make every check hold at the profile.

    ``built`` is what the deadline-day switch deploys (``design_limits()["deadline_day"]``):
    each change says whether it is built (and at least the figure the model needs), a request
    to AWS or Twilio with its lead time, or a design the code does not have yet."""
    built = built or {"throttles": {}, "reserved": {}, "warm_writes": {}}
    by = {c["key"]: c for c in result["checks"]}
    overrides: dict[str, float] = {}
    steps: list[dict[str, str]] = []

    def step(status: str, change: str) -> None:
        steps.append({"status": status, "change": change})

    def switched(change: str, have: float | None, need: float, where: str) -> None:
        if have is not None and have >= need:
            step("built", f"{change} (deployed: {have:g})")
        else:
            step("short", f"{change}: the switch deploys {have or 'nothing'}; raise {where}")

    targets = as_built.eb_targets_per_event
    if by["eventbridge_invocations"]["breaks"]:
        targets = 1
        step(
            "not built",
            "EventBridge keeps one target per event (the agency queue); the outbox publisher "
            f"fills the other {as_built.eb_targets_per_event - 1} queues itself with "
            "SendMessageBatch. The code still has one rule target per queue "
            "(infra/cdk/bus_construct.py): until it changes, the invocations quota must cover "
            f"{as_built.eb_targets_per_event} per event",
        )
        if (
            by["eventbridge_invocations"]["demand"] / as_built.eb_targets_per_event * 1.5
            > by["eventbridge_invocations"]["limit"]
        ):
            need = (
                math.ceil(
                    by["eventbridge_invocations"]["demand"]
                    / as_built.eb_targets_per_event
                    * 2
                    / 100
                )
                * 100
            )
            overrides["eventbridge_invocations"] = need
            as_is = math.ceil(by["eventbridge_invocations"]["demand"] * 1.5 / 100) * 100
            step(
                "request",
                f"EventBridge target invocations {need}/s (2x the peak at one target per event; "
                f"{as_is}/s while the as-built three targets stand); "
                f"{quotas['eventbridge_invocations']['lead_time']}",
            )
    for key in (
        "ses_send_rate",
        "lambda_concurrency",
        "eventbridge_putevents",
        "apigw_account_rps",
    ):
        if by[key]["demand"] * 1.5 > by[key]["limit"]:
            need = math.ceil(by[key]["demand"] * 2 / 10) * 10
            overrides[key] = need
            step("request", f"{key} = {need} ({quotas[key]['lead_time']})")
    senders = as_built.sms_senders
    if by["twilio_mps"]["demand"] * 1.25 > by["twilio_mps"]["limit"]:
        per = quota_value(quotas[as_built.sms_sender_quota], region)
        senders = math.ceil(by["twilio_mps"]["demand"] * 1.25 / per)
        step(
            "built_parameter",
            "the notifier texts through a Twilio Messaging Service (`messaging_service_sid`, "
            "no `From`) when the parameter is given",
        )
        step(
            "request",
            f"Twilio: a Messaging Service pool of {senders} senders ({per:g} MPS each), its "
            f"MG... SID given as `TwilioMessagingServiceSid`; "
            f"{quotas[as_built.sms_sender_quota]['lead_time']}",
        )
    throttles: dict[str, int] = {}
    reserved: dict[str, int] = {}
    for c in result["checks"]:
        if c["key"].startswith("route_throttle_") and c["demand"] * 1.25 > c["limit"]:
            cls = ROUTE_CLASS[c["key"].removeprefix("route_throttle_")]
            throttles[cls] = max(throttles.get(cls, 0), math.ceil(c["demand"] * 1.5 / 50) * 50)
        # a function a citizen waits on (429 when full): twice its peak, in tens
        if c["key"].startswith("reserved_") and "429" in c["when_broken"] and c["headroom"] < 2:
            reserved[c["key"].removeprefix("reserved_")] = math.ceil(c["demand"] * 2 / 10) * 10
    for cls, rps in throttles.items():
        throttles[cls] = max(rps, built["throttles"].get(cls, 0))  # the check runs on the built
        switched(
            f"route class {cls}: {rps} rps for the day",
            built["throttles"].get(cls),
            rps,
            "functions/topology.py DEADLINE_DAY_THROTTLES",
        )
    for fn, cap in reserved.items():
        reserved[fn] = max(cap, built["reserved"].get(fn, 0))
        switched(
            f"reserved concurrency of {fn}: {cap}",
            built["reserved"].get(fn),
            cap,
            f"{fn}'s deadline_day_reserved_concurrency in functions/topology.py",
        )
    if (
        by["dynamodb_hot_agency_audit"]["breaks"]
        or by["dynamodb_hot_agency_audit"]["headroom"] < 1.25
    ):
        overrides["dynamodb_partition_writes"] = 10 * quota_value(
            quotas["dynamodb_partition_writes"], region
        )
        step(
            "not built",
            "agency_audit key sharded ten ways (agency#0..9): ten partitions' writes "
            "(the code still writes one key per agency)",
        )
    warm: dict[str, int] = {}
    for c in result["checks"]:
        if c["key"].startswith("dynamodb_writes_") and c["headroom"] < 1.25:
            warm[c["key"].removeprefix("dynamodb_writes_")] = math.ceil(c["demand"] * 2)
    if warm:
        overrides["dynamodb_table_initial_writes"] = max(warm.values())
    for table, need in warm.items():
        switched(
            f"warm throughput of the {table} table: {need} WRU/s before the day",
            built["warm_writes"].get(table),
            need,
            "functions/topology.py DEADLINE_DAY_WARM_THROUGHPUT",
        )
    return replace(
        as_built,
        name="deadline day",
        eb_targets_per_event=targets,
        direct_queues_per_event=as_built.eb_targets_per_event - targets,
        sms_senders=senders,
        quota_overrides=overrides,
        throttle_overrides=throttles,
        reserved_overrides=reserved,
        changes=tuple(f"{STATUS_LABEL[s['status']]}: {s['change']}" for s in steps),
        steps=tuple(steps),
    )


def built_today(as_built: Design, day: Design, result: dict[str, Any]) -> Design:
    """The deadline day with only what the code has (the switch, the sender pool) and the
    requests filed for it: the as-built targets per event (and the invocations quota asked
    for them), the audit key unsharded."""
    by = {c["key"]: c for c in result["checks"]}
    overrides = {k: v for k, v in day.quota_overrides.items() if k != "dynamodb_partition_writes"}
    if "eventbridge_invocations" in overrides:
        demand = by["eventbridge_invocations"]["demand"]
        overrides["eventbridge_invocations"] = math.ceil(demand * 1.5 / 100) * 100
    return replace(
        day,
        name="built today",
        eb_targets_per_event=as_built.eb_targets_per_event,
        direct_queues_per_event=0,
        quota_overrides=overrides,
    )


# ---------------------------------------------------------------- price per design choice


def design_prices(
    filing: dict[str, dict[str, Any]], profile: Profile, queues: int
) -> list[dict[str, Any]]:
    """USD per million journeys (the profile's mix) for each design choice."""

    def per_million(design: Design, fill: float, prof: Profile = profile) -> dict[str, float]:
        bill = day_bill(filing, replace(prof, filings_per_day=1_000_000), design, queues, fill)
        bill_idle_free = bill["aws_usd"] - bill["sqs_idle_usd"]
        return {"aws": bill_idle_free, "sms": bill["sms_usd"], "idle": bill["sqs_idle_usd"]}

    built = per_million(AS_BUILT, 1.0)
    full = per_million(AS_BUILT, 10.0)
    fan = per_million(replace(AS_BUILT, eb_targets_per_event=1, direct_queues_per_event=2), 10.0)
    email = per_million(
        AS_BUILT,
        10.0,
        replace(
            profile,
            mix={
                "app": profile.mix.get("app", 0),
                "eservice": profile.mix.get("eservice", 0) + profile.mix.get("sms", 0),
            },
        ),
    )
    idle_month = price.sqs_idle_requests_per_day(queues) * 30 * price.UNIT_PRICES["sqs_request"][0]
    return [
        {
            "choice": "as built, quiet day: every SQS batch holds 1 message (send + receive + delete each)",
            "usd_per_million": built["aws"],
            "sms_usd_per_million": built["sms"],
        },
        {
            "choice": "as built, deadline day: Lambda's pollers fill batches of 10 (receive and delete per batch)",
            "usd_per_million": full["aws"],
            "sms_usd_per_million": full["sms"],
        },
        {
            "choice": "publisher fan-out: 1 EventBridge target, 2 queues by SendMessageBatch (batches of 10)",
            "usd_per_million": fan["aws"],
            "sms_usd_per_million": fan["sms"],
        },
        {
            "choice": "SMS filers notified by e-mail instead of SMS (batches of 10)",
            "usd_per_million": email["aws"],
            "sms_usd_per_million": email["sms"],
        },
        {
            "choice": f"idle pollers: {queues} Lambda-polled queues x 5 pollers x one 20 s long poll, per month (fixed, not per journey)",
            "usd_per_million": idle_month,
            "sms_usd_per_million": 0.0,
        },
    ]


# ---------------------------------------------------------------- the peak-minute simulation


def simulate(filings: int = 200, concurrency: int = 4, time_limit: float = 120.0) -> dict[str, Any]:
    """File ``filings`` web e-service requests into ``citizenbus serve`` (loopback), wait until
    each reached its agency queue, and count the AWS calls the bus made per filing."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    references: list[str] = []
    failed = 0
    with serving("bench._capacity_server", "--out", str(out)) as (port, server):
        lock = threading.Lock()
        counter = iter(range(filings))
        stop_at = time.monotonic() + time_limit

        def worker() -> None:
            nonlocal failed
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
                try:
                    status, raw = _call(port, "POST", "/eservice/v1/forms/street-damage", body)
                except OSError:
                    status, raw = 0, b""
                with lock:
                    if status == 201:
                        references.append(json.loads(raw)["reference"])
                    else:
                        failed += 1

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        arrived = delivered(port, "streets", references, 90)
        # the notifier drains: every filer asked for an e-mail receipt
        settle_until = time.monotonic() + 120
        while time.monotonic() < settle_until:
            server.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
            try:
                sent = json.loads(out.read_text(encoding="utf-8"))["calls"].get(
                    "sesv2.SendEmail", 0
                )
            except (OSError, ValueError):
                continue
            if sent >= len(references):
                break
    counts = (
        json.loads(out.read_text(encoding="utf-8"))
        if out.stat().st_size
        else {"calls": {}, "entries": {}, "table_units": {}}
    )
    out.unlink(missing_ok=True)
    n = max(1, len(references))
    calls = counts["calls"]
    polling = {
        "dynamodbstreams.DescribeStream",
        "dynamodbstreams.GetRecords",
        "dynamodbstreams.GetShardIterator",
        "dynamodbstreams.ListStreams",
        "sqs.ReceiveMessage",
        "sqs.DeleteMessageBatch",
        "sqs.DeleteMessage",
        "sqs.GetQueueUrl",
        "sqs.GetQueueAttributes",
    }
    provisioning = (
        "Create",
        "Describe",
        "UpdateTimeToLive",
        "List",
        "Tag",
        "PutRule",
        "PutTargets",
        "PutBucket",
        "SetQueue",
    )
    handler_calls = {
        k: v
        for k, v in calls.items()
        if k not in polling and not k.split(".", 1)[1].startswith(provisioning)
    }
    dynamo = {k: v for k, v in handler_calls.items() if k.startswith("dynamodb.")}
    wru = {t: u.get("dynamodb_wru", 0.0) for t, u in counts["table_units"].items()}
    rru = {t: u.get("dynamodb_rru", 0.0) for t, u in counts["table_units"].items()}
    total_w, total_r = sum(wru.values()) or 1.0, sum(rru.values()) or 1.0
    puts = calls.get("events.PutEvents", 0)
    return {
        "route": "POST /eservice/v1/forms/street-damage",
        "filed": len(references),
        "failed": failed,
        "delivered_to_agency_queue": len(set(references) & arrived),
        "wall_s": wall,
        "filings_per_s": len(references) / wall if wall else 0.0,
        "dynamodb_calls_per_filing": sum(dynamo.values()) / n,
        "dynamodb_operations_per_filing": {k: v / n for k, v in sorted(dynamo.items())},
        "put_events_calls_per_filing": puts / n,
        "entries_per_put_events": counts["entries"].get("events.PutEvents", 0) / puts
        if puts
        else 0.0,
        "wru_per_filing": sum(wru.values()) / n,
        "rru_per_filing": sum(rru.values()) / n,
        "table_split": {
            t.removeprefix("citizenbus-"): {
                "dynamodb_wru": wru.get(t, 0.0) / total_w,
                "dynamodb_rru": rru.get(t, 0.0) / total_r,
            }
            for t in counts["table_units"]
        },
        "other_handler_calls_per_filing": {
            k: v / n for k, v in sorted(handler_calls.items()) if not k.startswith("dynamodb.")
        },
    }


# ---------------------------------------------------------------- output


def _n(x: float) -> str:
    if math.isinf(x):
        return "inf"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 1 else f"{x:.2f}"


def _table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| limit | kind | demand at peak | limit | headroom | breaks | when broken | fix |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in result["checks"]:
        verdict = "**yes**" if c["breaks"] else "lags (queued)" if c["lags"] else "no"
        lines.append(
            f"| {c['what']} | {c['kind']} | {_n(c['demand'])} {c['unit']} | {_n(c['limit'])} | {_n(c['headroom'])}x | {verdict} | {c['when_broken']} | {c['fix']} |"
        )
    return lines


def _today(data: dict[str, Any]) -> str:
    """One sentence: the peak with only what is built and the requests filed."""
    today = data.get("built_today")
    if not today:
        return ""
    least = min((c for c in today["checks"] if not c["lags"]), key=lambda c: c["headroom"])
    tight = [
        c["what"]
        for c in today["checks"]
        if not c["breaks"] and not c["lags"] and c["headroom"] < 1.25
    ]
    return (
        f"With only what is built (`{DEADLINE_DAY_COMMAND}`, the sender pool) and the requests filed, "
        f"{today['design']['eb_targets_per_event']} EventBridge targets per event and the audit key unsharded: "
        f"broken at the peak {len(today['broken'])} ({', '.join(today['broken']) or 'none'}); "
        f"the least headroom (queue lag aside): {least['what']} at {_n(least['headroom'])}x; "
        f"under 1.25x: {', '.join(tight) or 'none'}."
    )


def markdown(data: dict[str, Any]) -> str:
    p = data["profile"]
    built, day = data["as_built"], data["deadline_day"]
    first = (
        next(c for c in built["checks"] if c["key"] == built["first_to_break"])
        if built["first_to_break"]
        else None
    )
    first_aws = (
        next(c for c in built["checks"] if c["key"] == built["first_aws_quota_to_break"])
        if built["first_aws_quota_to_break"]
        else None
    )
    lines = [
        "# Deadline day: capacity and price",
        "",
        f"Profile: {p['filings_per_day']:,} filings in 24 hours, a peak of {p['peak_per_s']:,.0f} filings/s, region {p['region']}; "
        f"channel mix {', '.join(f'{c} {s:.0%}' for c, s in p['mix'].items())} (stated in bench/capacity.py: neither the catalog nor a seed carries channel weights); "
        f"one agency takes {p['hottest_agency_share']:.0%} of the peak. Per-filing figures from bench/report.json ({data['report_date']}); "
        f"quotas from bench/quotas.json (each with its source and the date read). Written by `make capacity`.",
        "",
        "## As built",
        "",
    ]
    if first:
        lines.append(
            f"**First limit to break: {first['what']}** ({_n(first['demand'])} {first['unit']} against {_n(first['limit'])}, headroom {_n(first['headroom'])}x)."
        )
    if first_aws:
        lines.append(
            f"**First AWS quota to break: {first_aws['what']}** ({_n(first_aws['demand'])} {first_aws['unit']} against {_n(first_aws['limit'])})."
        )
    lines.append(
        f"Broken at the peak: {len(built['broken'])} of {len(built['checks'])} limits; lagging behind a queue (nothing lost): {', '.join(built['lagging']) or 'none'}."
    )
    lines += ["", *_table(built)]
    lines += [
        "",
        "## Deadline-day design",
        "",
        "The changes that make every limit hold, each with its status. **BUILT**: deployed by "
        f"`{DEADLINE_DAY_COMMAND}` (functions/topology.py DEADLINE_DAY_*; docs/operations.md, "
        '"Before a deadline day"), checked here against the figure the model needs (BUILT BUT SHORT when the '
        "deployed figure is below it). **REQUEST**: to file with AWS or Twilio, with its lead time. "
        "**NOT BUILT**: modelled here, not in the code; until it is, the request beside it must cover the as-built design.",
        "",
    ]
    lines += [f"- {c}" for c in day["design"]["changes"]] or ["- none"]
    lines += [
        "",
        f"Broken at the peak after the changes: {len(day['broken'])} ({', '.join(day['broken']) or 'none'}); lagging behind a queue: {', '.join(day['lagging']) or 'none'}.",
        "",
        _today(data),
        "",
        *_table(day),
    ]
    b0, b1 = data["bill"]["as_built"], data["bill"]["deadline_day"]
    lines += [
        "",
        "## The day's bill",
        "",
        f"At list prices ({price.REGION}, {price.PRICES_AS_OF}; eu-north-1 differs by a few percent), SQS as Lambda's pollers bill it (batches of 10 at load, idle pollers' empty receives):",
        "",
        "| design | AWS USD (SES e-mail included) | of which idle SQS pollers | SMS USD (Twilio, US list price) | total |",
        "|---|---|---|---|---|",
        f"| as built | ${b0['aws_usd']:,.0f} | ${b0['sqs_idle_usd']:.2f} | ${b0['sms_usd']:,.0f} | ${b0['total_usd']:,.0f} |",
        f"| deadline day | ${b1['aws_usd']:,.0f} | ${b1['sqs_idle_usd']:.2f} | ${b1['sms_usd']:,.0f} | ${b1['total_usd']:,.0f} |",
        "",
        "## What each design choice costs per million journeys",
        "",
        "| choice | AWS USD per million journeys (SES e-mail included) | SMS USD per million journeys |",
        "|---|---|---|",
    ]
    lines += [
        f"| {r['choice']} | ${r['usd_per_million']:,.2f} | ${r['sms_usd_per_million']:,.0f} |"
        for r in data["design_prices"]
    ]
    lines += [
        "",
        f"## Quotas and their sources ({p['region']})",
        "",
        "| quota | value | adjustable | lead time (planning estimate) | source | read | verified |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, quota in data["quotas"].items():
        lines.append(
            f"| {quota['service']}: {quota['name']} (`{key}`) | {_n(quota_value(quota, p['region']))} {quota.get('unit', '')} | "
            f"{'yes' if quota.get('adjustable') else 'no'} | {quota.get('lead_time', '')} | {quota['source']} | {quota['read']} | "
            f"{'yes' if quota.get('verified') else '**no**: ' + quota.get('note', '')} |"
        )
    sim = data.get("simulation")
    if sim:
        m = data["model_check"]
        lines += [
            "",
            "## The peak minute on the local bus",
            "",
            f"{sim['filed']} web e-service filings over HTTP into `citizenbus serve` on loopback ({sim['filings_per_s']:.1f}/s on this machine; {sim['failed']} failed, "
            f"{sim['delivered_to_agency_queue']} reached the agency queue), AWS calls counted with botocore hooks in the server process:",
            "",
            "| per filing | model (report.json, eservice) | simulation |",
            "|---|---|---|",
            f"| DynamoDB calls | {m['model_dynamodb_calls']:.1f} (sync + async share of the journey) | {sim['dynamodb_calls_per_filing']:.1f} |",
            f"| DynamoDB WRU | {m['model_wru']:.1f} | {sim['wru_per_filing']:.1f} |",
            f"| DynamoDB RRU | {m['model_rru']:.1f} | {sim['rru_per_filing']:.1f} |",
            f"| PutEvents calls | {m['model_put_events']:.2f} (1 event, 10 per call at load) | {sim['put_events_calls_per_filing']:.2f} ({sim['entries_per_put_events']:.1f} entries per call) |",
            "",
            "Where the simulation (filings only, at the local bus's batch sizes) is above the model's per-event share of the bench's journey, the model takes the simulation's figure: "
            + ", ".join(f"{k} x{v:.2f}" for k, v in data["calibration"].items())
            + " (the tables above already carry these factors; a factor of 1.00 means the model was at or above the simulation). WRU split by table (simulation): "
            + ", ".join(
                f"{t} {s['dynamodb_wru']:.0%}"
                for t, s in sorted(sim["table_split"].items())
                if s["dynamodb_wru"] > 0
            )
            + ".",
        ]
    lines += [
        "",
        "Assumptions: one event per filing at the peak, status changes later in the day; Lambda duration = warm CPU x (1769 / 256 MB) + 10 ms per AWS call; "
        f"the agency's webhook endpoint answers in {AGENCY_WEBHOOK_MS:.0f} ms, Twilio/SES in {PROVIDER_API_MS:.0f} ms; the receipt goes by the filing's channel (app push, e-service e-mail, SMS by SMS). "
        "Keys: outbox (event id), idempotency (hash) and requests (random reference) spread over partitions; subscriptions and agency_audit are keyed by agency, the hot keys above.",
    ]
    return "\n".join(lines) + "\n"


DOCS = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- capacity:begin -->", "<!-- capacity:end -->"


def _mark(check: dict[str, Any]) -> str:
    if check["breaks"]:
        return f"**{_n(check['headroom'])}x**"
    return f"{_n(check['headroom'])}x" + (" (lags)" if check["lags"] else "")


def docs_summary(data: dict[str, Any]) -> str:
    """The headline table for docs/performance.md: each limit as built and on deadline day."""
    p, built, day = data["profile"], data["as_built"], data["deadline_day"]
    after = {c["key"]: c for c in day["checks"]}
    first = next((c for c in built["checks"] if c["key"] == built["first_to_break"]), None)
    first_aws = next(
        (c for c in built["checks"] if c["key"] == built["first_aws_quota_to_break"]), None
    )
    lines = [
        BEGIN,
        f"{p['filings_per_day']:,} filings in 24 hours, a peak of {p['peak_per_s']:,.0f}/s, {p['region']}, "
        f"mix {', '.join(f'{c} {s:.0%}' for c, s in p['mix'].items())}; bench report of {data['report_date']}. "
        "Full model: `bench/capacity.md`.",
        "",
    ]
    if first:
        lines.append(
            f"First limit to break as built: **{first['what']}**, {_n(first['demand'])} {first['unit']} against {_n(first['limit'])}."
        )
    if first_aws and first_aws is not first:
        lines.append(
            f"First AWS quota to break: **{first_aws['what']}**, {_n(first_aws['demand'])} {first_aws['unit']} against {_n(first_aws['limit'])}."
        )
    lines += [
        "",
        "| limit | demand at peak (as built) | limit | headroom as built | headroom on deadline day |",
        "|---|---|---|---|---|",
    ]
    for c in built["checks"]:
        if c["key"].startswith(("dynamodb_reads_", "dynamodb_writes_")) and c["headroom"] > 3:
            continue  # the roomy tables: in bench/capacity.md
        lines.append(
            f"| {c['what']} | {_n(c['demand'])} {c['unit']} | {_n(c['limit'])} | {_mark(c)} | {_mark(after[c['key']])} |"
        )
    b0, b1 = data["bill"]["as_built"], data["bill"]["deadline_day"]
    steps = day["design"].get("steps", [])

    def listed(*statuses: str) -> str:
        return "; ".join(s["change"] for s in steps if s["status"] in statuses) or "none"

    lines += [
        "",
        f"Deadline-day changes. Built (`{DEADLINE_DAY_COMMAND}`; the sender pool by the `TwilioMessagingServiceSid` parameter): "
        + listed("built", "built_parameter")
        + ". Built but short of the model's figure: "
        + listed("short")
        + ". Requests to file ahead of the day: "
        + listed("request")
        + ". Not built (modelled only): "
        + listed("not built")
        + ".",
        "",
        _today(data),
        "",
        f"The day's bill: AWS ${b0['aws_usd']:,.0f} as built, ${b1['aws_usd']:,.0f} on the deadline-day design "
        f"(SES included); SMS ${b1['sms_usd']:,.0f} (Twilio, US list price).",
        END,
    ]
    return "\n".join(lines)


def update_docs(data: dict[str, Any]) -> bool:
    if not DOCS.exists():
        return False
    text = DOCS.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        return False
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOCS.write_text(head + docs_summary(data) + tail, encoding="utf-8")
    return True


def calibration(filing: dict[str, dict[str, Any]], sim: dict[str, Any]) -> dict[str, float]:
    """Simulated per-filing figures over the model's (e-service), where the simulation is higher:
    the model then takes the simulation's, so it never runs below what was measured."""
    e = filing["eservice"]
    pairs = {
        "calls": (sim["dynamodb_calls_per_filing"], e["sync_calls"] + e["async_calls_per_event"]),
        "wru": (sim["wru_per_filing"], e["wru_per_event"]),
        "rru": (sim["rru_per_filing"], e["rru_per_event"]),
    }
    return {
        k: max(1.0, measured / modelled) if modelled else 1.0
        for k, (measured, modelled) in pairs.items()
    }


def calibrated(
    filing: dict[str, dict[str, Any]], factors: dict[str, float]
) -> dict[str, dict[str, Any]]:
    out = {}
    for channel, f in filing.items():
        out[channel] = {
            **f,
            "async_calls_per_event": f["async_calls_per_event"] * factors.get("calls", 1.0),
            "wru_per_event": f["wru_per_event"] * factors.get("wru", 1.0),
            "rru_per_event": f["rru_per_event"] * factors.get("rru", 1.0),
            "journey_units": {
                **f["journey_units"],
                "dynamodb_wru": f["journey_units"].get("dynamodb_wru", 0) * factors.get("wru", 1.0),
                "dynamodb_rru": f["journey_units"].get("dynamodb_rru", 0) * factors.get("rru", 1.0),
            },
        }
    return out


def run(
    profile: Profile,
    report: dict[str, Any],
    quotas: dict[str, dict[str, Any]],
    sim: dict[str, Any] | None,
) -> dict[str, Any]:
    filing = per_filing(report)
    factors = calibration(filing, sim) if sim else {}
    filing = calibrated(filing, factors)
    limits = design_limits()
    built_design = replace(AS_BUILT, eb_targets_per_event=targets_per_event())
    split = sim["table_split"] if sim else None
    built = model(filing, quotas, profile, built_design, limits, split)
    day_design = deadline_day(built_design, built, quotas, profile.region, limits["deadline_day"])
    day = model(filing, quotas, profile, day_design, limits, split)
    today = model(
        filing, quotas, profile, built_today(built_design, day_design, built), limits, split
    )
    queues = lambda_queues()
    data: dict[str, Any] = {
        "profile": asdict(profile),
        "report_date": report["machine"]["date"],
        "per_filing": filing,
        "as_built": built,
        "deadline_day": day,
        "built_today": today,
        "bill": {
            "as_built": day_bill(filing, profile, built_design, queues),
            "deadline_day": day_bill(filing, profile, day_design, queues),
        },
        "design_prices": design_prices(filing, profile, queues),
        "lambda_polled_queues": queues,
        "quotas": quotas,
    }
    if sim:
        e = per_filing(report)["eservice"]
        data["simulation"] = sim
        data["calibration"] = factors
        data["model_check"] = {
            "model_dynamodb_calls": e["sync_calls"] + e["async_calls_per_event"],
            "model_wru": e["wru_per_event"],
            "model_rru": e["rru_per_event"],
            "model_put_events": 1 / ENTRIES_PER_PUT,
        }
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--region", default="eu-north-1")
    parser.add_argument("--filings", type=int, default=2_000_000, help="filings in 24 hours")
    parser.add_argument("--peak", type=float, default=1000.0, help="filings per second at the peak")
    parser.add_argument(
        "--mix",
        default=",".join(f"{k}={v}" for k, v in DEFAULT_MIX.items()),
        help="channel=share,...",
    )
    parser.add_argument(
        "--quota", action="append", default=[], help="key=value: the account's own figure"
    )
    parser.add_argument(
        "--simulate",
        type=int,
        default=200,
        help="filings in the local peak-minute simulation (0: none)",
    )
    parser.add_argument(
        "--reuse-simulation",
        action="store_true",
        help="the last run's simulation (bench/capacity.json)",
    )
    args = parser.parse_args(argv)
    mix = {k: float(v) for k, v in (pair.split("=") for pair in args.mix.split(","))}
    profile = Profile(
        filings_per_day=args.filings, peak_per_s=args.peak, mix=mix, region=args.region
    )
    quotas = load_quotas()
    for pair in args.quota:
        key, value = pair.split("=")
        quotas[key] = {
            **quotas[key],
            "default": float(value),
            "by_region": {},
            "source": "given with --quota",
            "read": "now",
        }
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    sim = None
    if args.reuse_simulation:
        sim = json.loads((OUT / "capacity.json").read_text(encoding="utf-8")).get("simulation")
    elif args.simulate:
        print(
            f"capacity: simulating {args.simulate} filings against citizenbus serve",
            file=sys.stderr,
            flush=True,
        )
        sim = simulate(args.simulate)
    data = run(profile, report, quotas, sim)
    (OUT / "capacity.json").write_text(
        json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8"
    )
    (OUT / "capacity.md").write_text(markdown(data), encoding="utf-8")
    update_docs(data)
    built = data["as_built"]
    print(
        f"capacity: wrote bench/capacity.md and bench/capacity.json; first to break: {built['first_to_break']}; first AWS quota: {built['first_aws_quota_to_break']}; after the changes broken: {data['deadline_day']['broken'] or 'none'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Price per million citizen requests at AWS list prices, from the measured journey.

Every AWS call the journey made is priced by what it bills (DynamoDB write/read units from
the item sizes actually sent, EventBridge events, SQS requests), every invocation by Lambda
requests and arm64 GB-seconds, every HTTP request by HTTP API requests. Lambda duration is
modelled from the measured warm CPU time (scaled to the vCPU share of the memory size) plus
an assumed AWS latency per call; see ``ASSUMPTIONS``. SMS and e-mail delivery are priced apart.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

REGION = "us-east-1"
PRICES_AS_OF = "2025 (published list prices, transcribed; not re-fetched by the bench)"
UNIT_PRICES: dict[str, tuple[float, str]] = {
    "lambda_request": (0.20 / 1e6, "Lambda request"),
    "lambda_gb_second_arm64": (0.0000133334, "Lambda duration, arm64, per GB-second"),
    "http_api_request": (
        1.00 / 1e6,
        "API Gateway HTTP API request (first 300 M/month, per 512 KB)",
    ),
    "eventbridge_event": (1.00 / 1e6, "EventBridge custom event published (per 64 KB)"),
    "sqs_request": (0.40 / 1e6, "SQS standard request (per 64 KB)"),
    "dynamodb_wru": (0.625 / 1e6, "DynamoDB on-demand write request unit"),
    "dynamodb_rru": (0.125 / 1e6, "DynamoDB on-demand read request unit"),
    "sns_publish": (0.50 / 1e6, "SNS publish / mobile push request"),
    "ses_email": (0.10 / 1e3, "SES outbound e-mail"),
    "sms_segment": (0.0083, "Twilio SMS segment, US list price (other countries differ)"),
}
MEMORY_MB = 256
FULL_VCPU_MEMORY_MB = 1769
AWS_LATENCY_MS_PER_CALL = 10.0
STATUS_CHANGES_PER_REQUEST = 2
# SQS as Lambda's event source mapping bills it
# (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, read 2026-11-30): EventBridge's
# SendMessage per message delivered; Lambda's pollers receive in batches (up to the mapping's
# batch size, 10 here) and delete each batch with one DeleteMessageBatch; an idle queue still
# costs its pollers' long polls: 5 pollers, each a ReceiveMessage every 20 s.
SQS_BATCH = 10
SQS_POLLERS_PER_QUEUE = 5
SQS_LONG_POLL_S = 20
ASSUMPTIONS: dict[str, Any] = {
    "memory_mb": MEMORY_MB,
    "full_vcpu_memory_mb": FULL_VCPU_MEMORY_MB,
    "aws_latency_ms_per_call": AWS_LATENCY_MS_PER_CALL,
    "status_changes_per_request": STATUS_CHANGES_PER_REQUEST,
    "notes": [
        "Lambda duration = warm CPU ms x (1769 / memory MB) + calls x 10 ms, billed per 1 ms;"
        " local x86 CPU time stands in for Graviton CPU time.",
        "DynamoDB stream reads by Lambda are free; EventBridge rule delivery is free, the target"
        " queue bills SendMessage; Lambda's SQS poller bills ReceiveMessage + DeleteMessage per"
        " batch: per message 1 send + 2 / batch fill (the bench prices a fill of 1, a quiet"
        " day; bench/capacity.py prices full batches of 10 at load and the idle pollers'"
        " empty receives, 5 pollers x one 20 s long poll per queue).",
        "Cold starts (init billed since 2025-08) and CloudWatch Logs/metrics are not included.",
        "Free tiers are ignored.",
    ],
}


def sqs_requests(messages: float, batch_fill: float = 1.0) -> float:
    """SQS requests billed for ``messages`` through an EventBridge-fed, Lambda-polled queue:
    one SendMessage each, one ReceiveMessage and one DeleteMessageBatch per batch."""
    fill = min(max(batch_fill, 1.0), SQS_BATCH)
    return messages * (1 + 2 / fill)


def sqs_idle_requests_per_day(queues: int) -> float:
    """Empty receives of Lambda's pollers on ``queues`` idle queues over a day."""
    return queues * SQS_POLLERS_PER_QUEUE * 86400 / SQS_LONG_POLL_S


def _body(params: dict[str, Any]) -> dict[str, Any]:
    body = params.get("body") or b"{}"
    try:
        data: dict[str, Any] = json.loads(body)
    except ValueError:
        return {}
    return data


def _kb(item: Any) -> int:
    return max(1, math.ceil(len(json.dumps(item)) / 1024))


def _units(service: str, operation: str, params: dict[str, Any]) -> Counter[str]:
    """Billing units of one API call."""
    units: Counter[str] = Counter()
    body = _body(params)
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            for item in body.get("TransactItems", []):
                ((kind, spec),) = item.items()
                units["dynamodb_wru"] += 2 * _kb(spec.get("Item", {})) if kind == "Put" else 2
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            units["dynamodb_wru"] += _kb(body.get("Item", {}))
        elif operation == "BatchWriteItem":
            for requests in body.get("RequestItems", {}).values():
                units["dynamodb_wru"] += sum(
                    _kb(r.get("PutRequest", {}).get("Item", {})) for r in requests
                )
        elif operation == "TransactGetItems":
            units["dynamodb_rru"] += 2 * len(body.get("TransactItems", []))
        elif operation in ("GetItem", "Query", "Scan", "BatchGetItem"):
            units["dynamodb_rru"] += 1  # one strongly consistent 4 KB read (upper bound)
    elif service == "events" and operation == "PutEvents":
        units["eventbridge_event"] += len(body.get("Entries", []))
    elif service == "sqs":
        units["sqs_request"] += 1
    elif service == "sns":
        units["sns_publish"] += 1
    elif service in ("ses", "sesv2") and operation.startswith("Send"):
        units["ses_email"] += 1
    return units


def measure(journey: dict[str, Any], warm: dict[str, Any]) -> dict[str, Any]:
    cpu = {r["function"]: r["median_ms"] for r in warm["functions"] if "median_ms" in r}
    mem = MEMORY_MB
    scale = FULL_VCPU_MEMORY_MB / mem
    per_channel = []
    for trip in journey["journeys"]:
        units: Counter[str] = Counter()
        for service, operation, params in trip["_params"]:
            units.update(_units(service, operation, params))
        units["http_api_request"] += trip["http_requests"]
        units["sqs_request"] += round(sqs_requests(trip["sqs_messages"]))
        gb_seconds = 0.0
        for function, count in trip["invocations"].items():
            units["lambda_request"] += count
            own_cpu = cpu.get(function, max(cpu.values(), default=5.0))
            calls = trip["sync_calls"] if function == trip["function"] else 0
            duration_ms = math.ceil(own_cpu * scale + calls * AWS_LATENCY_MS_PER_CALL)
            gb_seconds += count * duration_ms / 1000 * mem / 1024
        rest_calls = trip["rest_calls"]
        other = [f for f in trip["invocations"] if f != trip["function"]]
        if other:  # the rest's AWS latency, spread over the other invocations
            gb_seconds += rest_calls * AWS_LATENCY_MS_PER_CALL / 1000 * mem / 1024
        units_f: dict[str, float] = dict(units)
        units_f["lambda_gb_second_arm64"] = gb_seconds
        delivery = {"sms_segment", "ses_email"}
        aws_cost = sum(
            UNIT_PRICES[k][0] * v
            for k, v in units_f.items()
            if k in UNIT_PRICES and k not in delivery
        )
        per_channel.append(
            {
                "channel": trip["channel"],
                "units_per_request": units_f,
                "aws_usd_per_million": aws_cost * 1e6,
                "breakdown_usd_per_million": {
                    k: UNIT_PRICES[k][0] * v * 1e6 for k, v in units_f.items() if k in UNIT_PRICES
                },
                "complete_journey": any("agency sets" in s for s in trip["steps"]),
            }
        )
    notifications = STATUS_CHANGES_PER_REQUEST + 1
    return {
        "region": REGION,
        "prices_as_of": PRICES_AS_OF,
        "unit_prices": {k: {"usd": v, "unit": d} for k, (v, d) in UNIT_PRICES.items()},
        "assumptions": ASSUMPTIONS,
        "channels": per_channel,
        "delivery_usd_per_million": {
            "sms": UNIT_PRICES["sms_segment"][0] * notifications * 1e6,
            "email": UNIT_PRICES["ses_email"][0] * notifications * 1e6,
            "notifications_per_request": notifications,
        },
    }

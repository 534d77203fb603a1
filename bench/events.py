"""A representative event for every function in ``functions/topology.py``.

Picked in this order, so a function that lands later is measured with no change here:

1. ``events/bench/<function>.json`` (a function's own bench event, when it has one);
2. a sample anywhere in ``events/`` whose ``routeKey`` is one of the function's routes (POST
   first; authorizer requests excluded);
3. for a Lambda authorizer named in ``topology.AUTHORIZERS``: a sample authorizer request;
4. for a stream: a sample from that table's stream (matched by ``eventSourceARN``);
5. for a queue: a sample from a matching queue, else an SQS record whose body is the
   EventBridge sample (what an EventBridge → SQS target delivers);
6. for a schedule: an EventBridge Scheduler event;
7. for a route without a sample: a synthesized API Gateway HTTP API v2 event.

A function with none of these is measured on import only.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from citizenbus.local.runtime import _scheduler_event
from functions import topology
from functions.topology import Function, Route

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
REGION = "eu-north-1"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class BenchEvent:
    event: dict[str, Any] | None
    source: str  # where it came from, for the report
    kind: str  # http, stream, queue, schedule, import-only


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _samples(folder: str) -> list[Path]:
    return sorted((EVENTS / folder).glob("*.json"))


def _all_samples() -> list[tuple[str, dict[str, Any]]]:
    """Every sample payload in ``events/`` but the bench's own, with its path."""
    found = []
    for path in sorted(EVENTS.rglob("*.json")):
        if path.parent.name == "bench":
            continue
        try:
            data = _load(path)
        except ValueError:
            continue
        if isinstance(data, dict):
            found.append((str(path.relative_to(EVENTS.parent)), data))
    return found


def _source_arn(data: dict[str, Any]) -> str:
    records = data.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        return str(records[0].get("eventSourceARN", ""))
    return ""


def _route_key(route: Route) -> str:
    return f"{route.method} {route.path}"


def http_event(route: Route, body: str | None = None, sub: str = "bench-citizen") -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for ``route`` with placeholder parameters."""
    params = dict.fromkeys(re.findall(r"{(\w+)}", route.path), "1234567897")
    path = route.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "bench",
        "domainName": "bench.execute-api.eu-north-1.amazonaws.com",
        "domainPrefix": "bench",
        "http": {
            "method": route.method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.17",
            "userAgent": "citizenbus-bench",
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": _route_key(route),
        "stage": "$default",
        "time": "22/Nov/2026:14:02:11 +0000",
        "timeEpoch": 1795356131000,
    }
    if route.auth == "jwt":
        context["authorizer"] = {"jwt": {"claims": {"sub": sub}, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": _route_key(route),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": context["domainName"], "content-type": "application/json"},
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if params:
        event["pathParameters"] = params
    if body is not None:
        event["body"] = body
    return event


def sqs_event(body: str, queue: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
        ]
    }


def scheduler_event(function: str) -> dict[str, Any]:
    return _scheduler_event(function)


def _queue_pattern(queue: str) -> re.Pattern[str]:
    return re.compile(re.escape(queue).replace(re.escape("{agency}"), r"[\w-]+"))


def bench_event(fn: Function) -> BenchEvent:
    """The event the bench invokes ``fn`` with (see the module docstring for the order)."""
    own = EVENTS / "bench" / f"{fn.name}.json"
    if own.exists():
        kind = "http" if fn.routes else "stream" if fn.stream else "queue" if fn.queues else "event"
        return BenchEvent(_load(own), f"events/bench/{own.name}", kind)
    samples = _all_samples()
    if fn.routes:
        keys = {_route_key(r) for r in fn.routes}
        matches = [
            (path, data)
            for path, data in samples
            if data.get("routeKey") in keys and data.get("type") != "REQUEST"
        ]
        matches.sort(key=lambda m: 0 if str(m[1]["routeKey"]).startswith("POST") else 1)
        if matches:
            return BenchEvent(matches[0][1], matches[0][0], "http")
    if fn.name in getattr(topology, "AUTHORIZERS", {}).values():
        for path, data in samples:
            if data.get("type") == "REQUEST" and data.get("routeKey"):
                return BenchEvent(data, path, "authorizer")
    if fn.stream:
        for path, data in samples:
            if f"-{fn.stream}/stream/" in _source_arn(data):
                return BenchEvent(data, path, "stream")
    if fn.queues:
        patterns = [_queue_pattern(q) for q in fn.queues]
        for path, data in samples:
            name = _source_arn(data).rsplit(":", 1)[-1]
            if name and any(p.fullmatch(name) for p in patterns):
                return BenchEvent(data, path, "queue")
        bridge = _samples("eventbridge")
        if bridge:
            queue = fn.queues[0].replace("{agency}", "streets")
            body = bridge[0].read_text(encoding="utf-8")
            return BenchEvent(
                sqs_event(body, queue),
                f"SQS record wrapping events/eventbridge/{bridge[0].name}",
                "queue",
            )
    if fn.schedule_minutes:
        return BenchEvent(scheduler_event(fn.name), "scheduler event (synthesized)", "schedule")
    if fn.routes:
        route = fn.routes[0]
        return BenchEvent(http_event(route), f"synthesized {_route_key(route)}", "http")
    return BenchEvent(None, "none", "import-only")


def form_body(fields: dict[str, str]) -> str:
    """A form body as API Gateway hands it over (base64)."""
    return base64.b64encode(urlencode(fields).encode()).decode()

"""AWS calls per citizen request, counted with botocore hooks across a whole journey.

On an in-process :class:`LocalBus`: a citizen files a request on each channel the topology
serves (app, web e-service, and SMS / Open311 once those routes exist), the outbox stream and
queues are pumped (route → agency delivery), then, where the agency API exists, the agency
moves the request to ``in_progress`` and ``resolved`` and the queues are pumped again
(notifications). Calls made while the filing route's function runs are the synchronous
path; every other function call is "the rest". Calls the local bus makes itself (polling
streams and queues, as Lambda's event source mappings do in AWS) are counted apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from bench.awscalls import AwsCalls
from citizenbus.cli import local_token
from citizenbus.local.runtime import LocalBus
from functions import topology

PUBLIC_URL = "http://127.0.0.1:8000"
TWILIO_TOKEN = "bench-twilio-token"  # noqa: S105 - the local bus's test token, not a secret
AGENCY_KEYS = {"tax": "bench-key-tax", "streets": "bench-key-streets", "waste": "bench-key-waste"}
OPEN311_KEY = "bench-open311-key"
SYNC_BUDGET = 2
# Operations a function makes once per process and then serves from its cache.
ONCE_PER_PROCESS = frozenset({"secretsmanager.GetSecretValue"})


def bench_environment() -> dict[str, str]:
    """Credentials the bench's local bus and cold-start processes share."""
    return {
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "CITIZENBUS_PUBLIC_URL": PUBLIC_URL,
        "CITIZENBUS_AGENCY_KEYS": ",".join(f"{a}={k}" for a, k in AGENCY_KEYS.items()),
        "CITIZENBUS_OPEN311_KEYS": OPEN311_KEY,
    }


def twilio_signature(url: str, params: dict[str, str], token: str) -> str:
    """``X-Twilio-Signature``: HMAC-SHA1 of the URL and the sorted form fields, base64."""
    payload = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(
        hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()


def _routes() -> dict[tuple[str, str], str]:
    return {(r.method, r.path): f.name for f in topology.FUNCTIONS for r in f.routes}


def _filings(token: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(channel, method, path, request kwargs) for each filing route that exists."""
    routes = _routes()
    filings: list[tuple[str, str, str, dict[str, Any]]] = []
    if ("POST", "/app/v1/requests") in routes:
        filings.append(
            (
                "app",
                "POST",
                "/app/v1/requests",
                {
                    "headers": {
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                    "json_body": {
                        "service_code": "street-damage",
                        "attributes": {"address": "Storgatan 1"},
                        "description": "Deep hole by the bus stop",
                    },
                },
            )
        )
    if ("POST", "/eservice/v1/forms/{service_code}") in routes:
        form = {
            "address": "Sopvägen 2",
            "phone": "+46701234567",
            "notify_by": "sms",
            "consent": "on",
            "submission_id": str(uuid.uuid4()),
        }
        filings.append(
            (
                "eservice",
                "POST",
                "/eservice/v1/forms/missed-waste-collection",
                {
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                    "body": urlencode(form),
                },
            )
        )
    if ("POST", "/channels/sms") in routes:
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": "+46701234567",
            "To": "+46700000000",
            "Body": "GATA Storgatan 3 hål i vägen",  # its own place: not a "me too" of the app's
            "NumMedia": "0",
        }
        signature = twilio_signature(PUBLIC_URL + "/channels/sms", params, TWILIO_TOKEN)
        filings.append(
            (
                "sms",
                "POST",
                "/channels/sms",
                {
                    "headers": {
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": signature,
                    },
                    "body": urlencode(params),
                },
            )
        )
    if ("POST", "/open311/v2/requests.json") in routes:
        form = {
            "api_key": OPEN311_KEY,
            "service_code": "street-damage",
            "attribute[address]": "Storgatan 7",  # its own place, as above
            "email": "anna@example.se",
        }
        filings.append(
            (
                "open311",
                "POST",
                "/open311/v2/requests.json",
                {
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                    "body": urlencode(form),
                },
            )
        )
    return filings


def _reference(response: Any) -> str | None:
    text = response.text
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("reference"):
        return str(data["reference"])
    if isinstance(data, list) and data and isinstance(data[0], dict):
        ref = data[0].get("service_request_id") or data[0].get("reference")
        return str(ref) if ref else None
    match = re.search(r"\b(\d{8,12})\b", text)
    return match.group(1) if match else None


def measure(progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Per channel: AWS calls on the synchronous path and in the rest of the journey."""
    env = bench_environment()
    routes = _routes()
    journeys = []
    with LocalBus(env=env, public_url=PUBLIC_URL) as bus:
        calls = AwsCalls()
        calls.install()
        invoked: Counter[str] = Counter()
        sqs_records: Counter[str] = Counter()
        http_requests = [0]
        original_invoke = bus.invoke
        original_request = bus.request

        def invoke(function: str, event: dict[str, Any]) -> Any:
            invoked[function] += 1
            records = event.get("Records") or []
            if records and records[0].get("eventSource") == "aws:sqs":
                sqs_records[function] += len(records)
            with calls.invoking(function):
                return original_invoke(function, event)

        def request(method: str, path: str, **kwargs: Any) -> Any:
            http_requests[0] += 1
            return original_request(method, path, **kwargs)

        bus.invoke = invoke  # type: ignore[method-assign]
        bus.request = request  # type: ignore[method-assign]
        bus.pump()
        for channel, method, path, kwargs in _filings(local_token("bench-citizen")):
            calls.calls.clear()
            invoked.clear()
            sqs_records.clear()
            http_requests[0] = 0
            queued_before = _queued(bus)
            sync_function = routes.get((method, path)) or next(
                (f for (m, p), f in routes.items() if m == method and p.split("{")[0] in path),
                "",
            )
            started = time.perf_counter()
            response = bus.request(method, path, **kwargs)
            sync_ms = (time.perf_counter() - started) * 1000
            made = Counter(f"{s}.{o}" for fn, s, o, _ in calls.calls if fn == sync_function)
            # A secret is read once per process (then cached for minutes): a cold-start cost,
            # shown apart, not a call each filing waits for.
            once = Counter({op: n for op, n in made.items() if op in ONCE_PER_PROCESS})
            sync = made - once
            sync_params = [(s, o, p) for fn, s, o, p in calls.calls if fn == sync_function]
            reference = _reference(response)
            steps = [f"filed via {channel}: HTTP {response.status}"]
            bus.pump()
            steps.append("routed and delivered (outbox stream → EventBridge → agency queue)")
            agency = "streets" if "street" in json.dumps(kwargs) or channel == "sms" else "waste"
            status_route = ("POST", "/agency/v1/requests/{reference}/status")
            if reference and status_route in routes:
                for status in ("in_progress", "resolved"):
                    answer = bus.request(
                        "POST",
                        f"/agency/v1/requests/{reference}/status",
                        headers={"Authorization": f"Bearer {AGENCY_KEYS[agency]}"},
                        json_body={"status": status, "note": "bench"},
                    )
                    steps.append(f"agency sets {status}: HTTP {answer.status}")
                    bus.pump()
            else:
                steps.append("status change: no agency API in the topology yet")
            rest = Counter(
                f"{s}.{o}" for fn, s, o, _ in calls.calls if fn is not None and fn != sync_function
            )
            rest_params = [
                (s, o, p) for fn, s, o, p in calls.calls if fn is not None and fn != sync_function
            ]
            queued_after = _queued(bus)
            into_queues = sum(
                max(0, queued_after[q] - queued_before.get(q, 0)) for q in queued_after
            )
            local = Counter(f"{s}.{o}" for fn, s, o, _ in calls.calls if fn is None)
            journeys.append(
                {
                    "channel": channel,
                    "route": f"{method} {path}",
                    "function": sync_function,
                    "status": response.status,
                    "reference": reference,
                    "steps": steps,
                    "sync_calls": sum(sync.values()),
                    "sync_operations": dict(sync),
                    "sync_once_per_process": dict(once),
                    "sync_ms_local": sync_ms,
                    "rest_calls": sum(rest.values()),
                    "rest_operations": dict(rest),
                    "event_source_mapping_calls": dict(local),
                    "invocations": dict(invoked),
                    "sqs_records_consumed": dict(sqs_records),
                    "sqs_messages": into_queues + sum(sqs_records.values()),
                    "http_requests": http_requests[0],
                    "within_budget": sum(sync.values()) <= SYNC_BUDGET,
                    "_params": sync_params + rest_params,
                }
            )
            progress(
                f"journey: {channel} sync {sum(sync.values())} calls, rest {sum(rest.values())}"
            )
        queued = _queued(bus)
    return {"sync_budget": SYNC_BUDGET, "journeys": journeys, "left_in_queues": queued}


def _queued(bus: Any) -> dict[str, int]:
    """Messages waiting in each queue (agency queues no function consumes keep theirs)."""
    return {name: len(bus.queue_messages(name)) for name in bus.queue_urls}


# Each kind of text the SMS route answers, in the order a citizen might send them: (what it
# is, sender, body, MessageSid to reuse or None). Counted per text on the sms function.
SMS_TURNS: tuple[tuple[str, str, str, str | None], ...] = (
    ("keyword filing", "+46701234567", "GATA Storgatan 3 hål i vägen", "SM" + "1" * 32),
    (
        "its Twilio retry (same MessageSid)",
        "+46701234567",
        "GATA Storgatan 3 hål i vägen",
        "SM" + "1" * 32,
    ),
    ("me too (another number, same door)", "+46702222222", "GATA Storgatan 3", None),
    (
        "free text: one question back",
        "+46703333333",
        "soptunnan har inte tömts vid Sopvägen 3",
        None,
    ),
    ("JA: files what the question named", "+46703333333", "JA", "SM" + "2" * 32),
    ("its Twilio retry (same MessageSid)", "+46703333333", "JA", "SM" + "2" * 32),
    ("free text about a street: the question", "+46706666666", "hål i vägen på Storgatan 8", None),
    ("JA: files it (a street: me-too query too)", "+46706666666", "JA", None),
    ("keyword alone: a field asked", "+46704444444", "SOPOR", None),
    ("the field's answer: files", "+46704444444", "Sopvägen 4", None),
    ("STATUS (latest three)", "+46704444444", "STATUS", None),
    ("HJÄLP", "+46704444444", "HJÄLP", None),
    ("STOP", "+46705555555", "STOP", None),
    ("keyword filing after STOP", "+46705555555", "GATA Storgatan 5", None),
    ("START", "+46705555555", "START", None),
)


def sms_turns(progress: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """AWS calls the sms function makes for each kind of text (warm: a secret read once per
    process is shown apart)."""
    rows = []
    with LocalBus(env=bench_environment(), public_url=PUBLIC_URL) as bus:
        calls = AwsCalls()
        calls.install()

        def text(sender: str, body: str, sid: str | None) -> Any:
            params = {
                "MessageSid": sid or "SM" + uuid.uuid4().hex,
                "AccountSid": "AC" + "0" * 32,
                "From": sender,
                "To": "+46700000000",
                "Body": body,
                "NumMedia": "0",
            }
            signature = twilio_signature(PUBLIC_URL + "/channels/sms", params, TWILIO_TOKEN)
            with calls.invoking("sms"):
                return bus.request(
                    "POST",
                    "/channels/sms",
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": signature,
                    },
                    body=urlencode(params),
                )

        text("+46709999999", "HJÄLP", None)  # warm: clients made, secrets read
        for what, sender, body, sid in SMS_TURNS:
            calls.calls.clear()
            response = text(sender, body, sid)
            made = Counter(f"{s}.{o}" for fn, s, o, _ in calls.calls if fn == "sms")
            once = Counter({op: n for op, n in made.items() if op in ONCE_PER_PROCESS})
            counted = made - once
            rows.append(
                {
                    "turn": what,
                    "body": body,
                    "status": response.status,
                    "calls": sum(counted.values()),
                    "operations": dict(counted),
                    "once_per_process": dict(once),
                }
            )
            progress(f"sms turn: {what}: {sum(counted.values())} calls {dict(counted)}")
    return rows


def main() -> int:
    """``python -m bench.journey``: the AWS calls of each kind of SMS text, as a table."""
    rows = sms_turns(progress=lambda _: None)
    print("| text | body | AWS calls | operations |")
    print("|---|---|---|---|")
    for row in rows:
        ops = ", ".join(f"{k} {v}" for k, v in sorted(row["operations"].items()))
        print(f"| {row['turn']} | `{row['body']}` | {row['calls']} | {ops} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""One cold-start sample: run in a fresh ``python`` process by :mod:`bench.cold`.

Only the standard library is imported before the clock starts, so the figure is what a
Lambda init + first invocation costs (AWS answers from a loopback moto server whose service
time the parent subtracts). Usage::

    python bench/_child.py handler <module.attr> <event.json | -> <function name> [restored]
    python bench/_child.py floor <service,service,...>

``restored``: as Lambda SnapStart runs it (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``): the
import and the before-snapshot hooks happen before the clock starts, which then times the
after-restore hooks and the first invocation (what a copy resumed from the snapshot does).

Prints one JSON line with the timings and what the process ended up holding.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import time
import uuid
from typing import Any


class _Context:
    """What the Lambda runtime passes as ``context`` (enough for Powertools)."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:eu-north-1:123456789012:function:{name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


TWILIO_IDS = ("MessageSid", "SmsSid", "SmsMessageSid", "CallSid")


def _resign_twilio(event: dict[str, Any], headers: dict[str, Any]) -> None:
    """New Twilio message/call ids, signed again as Twilio would for this environment.

    The signature covers the URL Twilio called (``CITIZENBUS_PUBLIC_URL`` + the route path)
    and every form field, so a sample signed elsewhere is re-signed with the bench's token.
    """
    # Off the process before the clock starts unless a Twilio sample needs them, so a handler
    # pays for them as it would in Lambda (hashlib alone is ~10 ms)
    import base64  # noqa: PLC0415 - see above
    import hashlib  # noqa: PLC0415 - see above
    import hmac  # noqa: PLC0415 - see above
    from urllib.parse import parse_qsl, urlencode  # noqa: PLC0415 - see above

    raw = event.get("body") or ""
    text = base64.b64decode(raw).decode() if event.get("isBase64Encoded") else raw
    pairs = parse_qsl(text, keep_blank_values=True)
    fresh = uuid.uuid4().hex
    pairs = [(k, (k[:2].upper() + fresh) if k in TWILIO_IDS else v) for k, v in pairs]
    body = urlencode(pairs)
    event["body"] = (
        base64.b64encode(body.encode()).decode() if event.get("isBase64Encoded") else body
    )
    path = str(event.get("rawPath", ""))
    stage = (event.get("requestContext") or {}).get("stage")
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    query = event.get("rawQueryString")
    url = (
        os.environ.get("CITIZENBUS_PUBLIC_URL", "").rstrip("/")
        + path
        + (f"?{query}" if query else "")
    )
    payload = url + "".join(k + v for k, v in sorted(pairs))
    token = os.environ.get("TWILIO_AUTH_TOKEN", "").encode()
    digest = hmac.new(token, payload.encode(), hashlib.sha1).digest()
    for key in [k for k in headers if k.lower() == "x-twilio-signature"]:
        headers[key] = base64.b64encode(digest).decode()


def fresh_event(event: dict[str, Any]) -> dict[str, Any]:
    """A new idempotency key (and Twilio ids) per sample, so each sample files a new request."""
    headers = event.get("headers")
    if isinstance(headers, dict):
        method = (event.get("requestContext") or {}).get("http", {}).get("method")
        if method in ("POST", "PUT"):
            headers["idempotency-key"] = str(uuid.uuid4())
        if any(k.lower() == "x-twilio-signature" for k in headers):
            _resign_twilio(event, headers)
    return event


def _clients() -> list[str]:
    """The AWS services this process created clients for."""
    if "botocore.client" not in sys.modules:
        return []
    from botocore.client import BaseClient  # noqa: PLC0415 - only once the sample loaded botocore

    # gc.get_objects() skips the permanent generation, where a function's first call moves
    # what init built (functions/platform/gc_init.py); the clock has stopped by now
    gc.unfreeze()
    found = {
        o.meta.service_model.service_name for o in gc.get_objects() if isinstance(o, BaseClient)
    }
    return sorted(found)


def main() -> None:
    mode = sys.argv[1]
    result: dict[str, object] = {}
    if mode == "handler":
        target, event_path, name = sys.argv[2], sys.argv[3], sys.argv[4]
        restored = sys.argv[5:6] == ["restored"]
        event = None
        if event_path != "-":
            with open(event_path, encoding="utf-8") as fh:
                event = fresh_event(json.load(fh))
        module_name, _, attr = target.rpartition(".")
        if restored:
            os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
            handler = getattr(importlib.import_module(module_name), attr)
            import snapshot_restore_py  # noqa: PLC0415 - SnapStart's hooks, as Lambda runs them

            for hook, args, kwargs in reversed(snapshot_restore_py.get_before_snapshot()):
                hook(*args, **kwargs)
        t0 = time.perf_counter()
        c0 = time.process_time()
        if restored:
            for hook, args, kwargs in snapshot_restore_py.get_after_restore():
                hook(*args, **kwargs)
        else:
            handler = getattr(importlib.import_module(module_name), attr)
        t1 = time.perf_counter()
        outcome: object = None
        if event is not None:
            try:
                answer = handler(event, _Context(f"citizenbus-{name}"))
                outcome = answer.get("statusCode", "ok") if isinstance(answer, dict) else "ok"
                if isinstance(answer, dict) and answer.get("batchItemFailures"):
                    outcome = "batchItemFailures"
            except Exception as exc:  # reported, not hidden: the bench marks the sample failed
                outcome = f"error: {type(exc).__name__}: {exc}"
        t2 = time.perf_counter()
        c2 = time.process_time()
        result = {
            "import_ms": (t1 - t0) * 1000,
            "first_call_ms": (t2 - t1) * 1000,
            "total_ms": (t2 - t0) * 1000,
            "cpu_ms": (c2 - c0) * 1000,
            "outcome": outcome,
        }
    else:
        services = [s for s in sys.argv[2].split(",") if s]
        t0 = time.perf_counter()
        c0 = time.process_time()
        import boto3  # noqa: PLC0415 - the floor: importing boto3 is what is timed

        for service in services:
            boto3.client(service)  # type: ignore[call-overload]
        t1 = time.perf_counter()
        result = {"total_ms": (t1 - t0) * 1000, "cpu_ms": (time.process_time() - c0) * 1000}
    result["clients"] = _clients()
    result["twilio"] = any(m == "twilio" or m.startswith("twilio.") for m in sys.modules)
    result["modules"] = len(sys.modules)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

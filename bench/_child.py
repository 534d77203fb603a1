"""One cold-start sample: run in a fresh ``python`` process by :mod:`bench.cold`.

The function starts as Lambda starts it: AWS's runtime interface client (``awslambdaric``, the
one in Lambda's Python images) imports the handler (``bootstrap.run``), asks for the next
invocation and hands the event to the handler through its own frames (``handle_event_request``
with a real ``LambdaContext``). Only the runtime talks to a local :class:`_Runtime` instead of
Lambda's Runtime API: it serves the one event, takes the answer, and stops the loop. The clock
runs from ``bootstrap.run`` to the answer (the runtime's own set-up, a few hundred microseconds,
is counted against the function). Only the standard library and the runtime are loaded before
the clock starts, as in Lambda (AWS answers from a loopback moto server whose service time the
parent subtracts).

Calling the handler from the runtime's frames, not the bench's, matters on Python 3.12: a
frame's locals live on a per-thread stack of 16 KB chunks, and a chunk is unmapped as soon as
the frame that opened it returns. A hot call made right at a chunk's edge maps and unmaps a
chunk on every call (e.g. the e-service's first call from the bench's own ``main()``: 6,042
``mmap`` calls of 16 KB, ~35 ms of page faults and system time; from the runtime's frames,
none). Where the edge falls depends on every frame below the handler, so the bench uses the
ones Lambda uses.

Usage::

    python bench/_child.py handler <module.attr> <event.json | -> <function name> [restored]
    python bench/_child.py floor <service,service,...>

``restored``: as Lambda SnapStart runs it (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``): the
runtime imports the handler and runs the before-snapshot hooks, then asks for the restore
(:meth:`_Runtime.restore_next`, where the clock starts), runs the after-restore hooks and the
first invocation (what a copy resumed from the snapshot does). ``floor``: the runtime imports
``bench/_floor.py``, which only imports boto3 and creates the clients named.

Prints one JSON line with the timings and what the process ended up holding.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import uuid
from typing import Any


class _Context:
    """What the Lambda runtime passes as ``context`` (enough for Powertools); the warm bench's."""

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


def _fresh_submission(event: dict[str, Any]) -> None:
    """A new ``submission_id`` in a form post (the e-service form's idempotency key).

    Without it every sample after the first was the same form sent again: a double click,
    answered from the first filing, not a filing. ``binascii`` (built in) and a string edit,
    so nothing the handler would import is loaded before the clock starts.
    """
    import binascii  # noqa: PLC0415 - see above

    raw = event.get("body") or ""
    encoded = bool(event.get("isBase64Encoded"))
    text = binascii.a2b_base64(raw).decode() if encoded else raw
    pairs = [
        f"submission_id={uuid.uuid4()}" if pair.startswith("submission_id=") else pair
        for pair in text.split("&")
    ]
    body = "&".join(pairs)
    event["body"] = binascii.b2a_base64(body.encode(), newline=False).decode() if encoded else body


def fresh_event(event: dict[str, Any]) -> dict[str, Any]:
    """A new idempotency key (a header, or the form's ``submission_id``; and Twilio ids) per
    sample, so each sample files a new request."""
    headers = event.get("headers")
    if isinstance(headers, dict):
        method = (event.get("requestContext") or {}).get("http", {}).get("method")
        if method in ("POST", "PUT"):
            headers["idempotency-key"] = str(uuid.uuid4())
            _fresh_submission(event)
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


class _Stop(Exception):
    """Ends the runtime's loop once the one invocation is answered."""


class _Runtime:
    """The Runtime API as ``awslambdaric.bootstrap.run`` uses it, for one invocation."""

    def __init__(self, body: str | None, name: str, direct: bool = False) -> None:
        if not direct:
            from awslambdaric.lambda_runtime_client import (  # noqa: PLC0415 - see main()
                InvocationRequest,
                LambdaRuntimeClient,
            )

            self.marshaller = LambdaRuntimeClient.marshaller
            self.request = InvocationRequest
        self.body = body
        self.name = name
        self.clock: dict[str, float] = {}
        self.answer: str | None = None
        self.error: dict[str, Any] | None = None

    def _mark(self, key: str) -> None:
        self.clock[key] = time.perf_counter()
        self.clock[key + "_cpu"] = time.process_time()

    def restore_next(self) -> None:
        self._mark("start")  # a SnapStart copy resumes here

    def wait_next_invocation(self) -> Any:
        if "invoked" in self.clock:
            raise _Stop
        self._mark("invoked")
        if self.body is None:  # measured on import only
            raise _Stop
        return self.request(
            invoke_id=str(uuid.uuid4()),
            x_amzn_trace_id=None,
            invoked_function_arn=f"arn:aws:lambda:eu-north-1:123456789012:function:{self.name}",
            deadline_time_in_ms=int(time.time() * 1000) + 30_000,
            client_context=None,
            cognito_identity=None,
            content_type="application/json",
            event_body=self.body,
            tenant_id=None,
            invocation_id=None,
        )

    def post_invocation_result(self, invoke_id: str, result: Any, *_: Any) -> None:
        self._mark("answered")
        self.answer = result.decode() if isinstance(result, bytes) else str(result)

    def post_invocation_error(self, invoke_id: str, error: str, *_: Any) -> None:
        self._mark("answered")
        self.error = json.loads(error)

    def post_init_error(self, error: dict[str, Any], *_: Any) -> None:
        self.error = error


def _run_direct(target: str, runtime: _Runtime) -> None:
    """The handler called from the bench's own frames: where the runtime interface client is
    not installed (it ships for Linux only) or ``CITIZENBUS_BENCH_DIRECT`` asks for it."""
    import importlib  # noqa: PLC0415 - this path only

    module_name, _, attr = target.rpartition(".")
    restored = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"
    try:
        handler = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:
        runtime.post_init_error({"errorType": type(exc).__name__, "errorMessage": str(exc)})
        raise SystemExit(1) from exc
    if restored:
        import snapshot_restore_py  # noqa: PLC0415 - SnapStart's hooks, as Lambda runs them

        for hook, args, kwargs in reversed(snapshot_restore_py.get_before_snapshot()):
            hook(*args, **kwargs)
        runtime.restore_next()
        for hook, args, kwargs in snapshot_restore_py.get_after_restore():
            hook(*args, **kwargs)
    runtime._mark("invoked")
    if runtime.body is None:
        return
    try:
        answer = handler(json.loads(runtime.body), _Context(f"citizenbus-{runtime.name}"))
    except Exception as exc:  # reported as the runtime reports it
        error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        runtime.post_invocation_error("", json.dumps(error))
        return
    runtime.post_invocation_result("", json.dumps(answer))


def _outcome(runtime: _Runtime) -> object:
    if runtime.error is not None:  # reported, not hidden: the bench marks the sample failed
        return f"error: {runtime.error.get('errorType')}: {runtime.error.get('errorMessage')}"
    if runtime.answer is None:
        return None
    answer = json.loads(runtime.answer)
    if isinstance(answer, dict) and answer.get("batchItemFailures"):
        return "batchItemFailures"
    return answer.get("statusCode", "ok") if isinstance(answer, dict) else "ok"


def _lambda_environment(name: str, handler: str) -> None:
    """The variables Lambda sets for every function (the runtime and Powertools read them)."""
    os.environ.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": f"citizenbus-{name}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/citizenbus-{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": uuid.uuid4().hex,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
            "_HANDLER": handler,
        }
    )


def main() -> None:
    mode = sys.argv[1]
    body: str | None = None
    if mode == "handler":
        target, event_path, name = sys.argv[2], sys.argv[3], sys.argv[4]
        if sys.argv[5:6] == ["restored"]:
            os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
        if event_path != "-":
            with open(event_path, encoding="utf-8") as fh:
                body = json.dumps(fresh_event(json.load(fh)))
    else:
        target, name = "_floor.handler", "floor"
        os.environ["CITIZENBUS_BENCH_FLOOR"] = sys.argv[2]
    _lambda_environment(name, target)
    out = sys.stdout  # bootstrap.run wraps it
    start = (time.perf_counter(), time.process_time())
    direct = bool(os.environ.get("CITIZENBUS_BENCH_DIRECT"))
    if not direct:
        try:
            # Lambda's init duration counts the runtime's own start (its imports: logging,
            # json, decimal, simplejson, traceback, which a handler then finds loaded): the
            # floor's too.
            from awslambdaric import bootstrap  # noqa: PLC0415 - in the clock; warm.py imports us
        except ImportError:
            direct = True
    runtime = _Runtime(body, name, direct)
    runtime.clock["start"], runtime.clock["start_cpu"] = start
    try:
        if direct:
            _run_direct(target, runtime)
        else:
            bootstrap.run(target, runtime)
    except _Stop:
        pass
    except SystemExit:  # the runtime's answer to an import that failed (post_init_error)
        print(f"init failed: {runtime.error}", file=sys.stderr)
        raise
    clock = runtime.clock
    end = "answered" if "answered" in clock else "invoked"
    result: dict[str, object] = {
        "total_ms": (clock[end] - clock["start"]) * 1000,
        "cpu_ms": (clock[end + "_cpu"] - clock["start_cpu"]) * 1000,
    }
    if mode == "handler":
        invoked = clock.get("invoked", clock[end])
        result |= {
            "import_ms": (invoked - clock["start"]) * 1000,
            "first_call_ms": (clock[end] - invoked) * 1000,
            "outcome": _outcome(runtime),
        }
    result["runtime"] = "direct" if direct else "awslambdaric"
    result["clients"] = _clients()
    result["twilio"] = any(m == "twilio" or m.startswith("twilio.") for m in sys.modules)
    # boto3's __init__ ran (the functions make their clients from botocore; the floor uses it)
    result["boto3"] = "DEFAULT_SESSION" in vars(sys.modules.get("boto3") or json)
    result["modules"] = len(sys.modules)
    print(json.dumps(result), file=out, flush=True)


if __name__ == "__main__":
    main()

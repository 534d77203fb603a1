"""Fault injection for the reliability tests: AWS, Twilio, agency webhooks and crashing handlers.

Every fault is injected where it would happen in production, so the product's own retry code
is what recovers from it:

- AWS through botocore's event hooks on the clients the functions use
  (``functions.platform.aws.client(...)``): DynamoDB throttling as HTTP 400 answers on the wire
  (``before-send``, so botocore's retry policy sees them like real throttling), EventBridge
  ``PutEvents`` answering some entries with an ``ErrorCode`` (the rest really published),
  SES throttling that reaches the notifier (``before-call``), and SQS ``DeleteMessageBatch``
  entries that fail, so the message is delivered again (SQS's at-least-once).
- Twilio through the SDK's HTTP client: 429 and 5xx answers.
- An agency's webhook receiver (stdlib ``http.server`` on 127.0.0.1) that times out or answers
  5xx.
- A handler that crashes part-way through its batch (Lambda timing out or running out of
  memory): the records before the crash were handled, the invocation still fails.

Time is virtual: every ``time.sleep`` (botocore's backoff, the functions' jitter) and every SQS
visibility timeout passes on a :class:`Clock`, so a run takes seconds, not hours, and a fixed
seed makes it repeat exactly.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

from functions.platform import aws


class Faults:
    """Decides, reproducibly, which calls fail; counts every fault by kind."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def hit(self, kind: str, rate: float | None = None) -> bool:
        with self.lock:
            if self.rng.random() < (self.rate if rate is None else rate):
                self.counts[kind] += 1
                return True
            return False

    def pick(self, n: int) -> int:
        with self.lock:
            return self.rng.randrange(n)


class Clock:
    """Virtual time: sleeps and SQS visibility timeouts pass without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept = 0.0  # seconds of backoff the code asked for
        self.sleeps = 0

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.slept += max(0.0, seconds)
        self.offset += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def install(self, monkeypatch: Any) -> None:
        import moto.sqs.models as sqs_models
        from moto.core import utils

        monkeypatch.setattr(time, "sleep", self.sleep)
        monkeypatch.setattr(
            sqs_models, "unix_time", lambda dt=None: utils.unix_time(dt) + self.offset
        )
        monkeypatch.setattr(
            sqs_models,
            "unix_time_millis",
            lambda dt=None: utils.unix_time_millis(dt) + self.offset * 1000,
        )


def _aws_error(code: str, status: int = 400, message: str = "Rate exceeded") -> AWSResponse:
    """An AWS JSON-protocol error answer, as the service would send it."""
    body = json.dumps({"__type": code, "message": message})
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}
    return AWSResponse("https://fault.invalid/", status, headers, MockRawResponse(body))


class _Parsed:
    """A stand-in for the HTTP response when a hook answers before anything is sent."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


def install_aws_faults(faults: Faults, bus: Any = None) -> None:
    """Register the AWS fault hooks on the clients the functions use (after the bus started):
    the harness's (the bus's own plumbing) and, given the bus, every function's own."""
    from contextlib import nullcontext

    for name in ["", *(bus.handlers if bus is not None else ())]:
        with bus.sandbox(name) if name else nullcontext():
            _install_aws_faults(faults)


def _install_aws_faults(faults: Faults) -> None:
    dynamodb = aws.client("dynamodb")
    events = aws.client("events")
    sqs = aws.client("sqs")
    ses = aws.client("sesv2")

    # botocore calls every before-send handler and sends the first answer, so the emulated
    # DynamoDB (moto's handler) is put behind the fault: a throttled request never arrives.
    from moto.core.models import botocore_stubber

    def throttle_dynamodb(request: Any, **kwargs: Any) -> AWSResponse | None:
        operation = kwargs["event_name"].rsplit(".", 1)[-1]
        if faults.hit("dynamodb.throttled"):
            if operation.startswith("Transact"):
                return _aws_error("ThrottlingException")
            return _aws_error("ProvisionedThroughputExceededException")
        return botocore_stubber(request=request, **kwargs)

    dynamodb.meta.events.unregister("before-send", botocore_stubber)
    dynamodb.meta.events.register("before-send", throttle_dynamodb)

    # Batch APIs answering some entries with an error: the failing entries are taken out of
    # the call (the others really go through) and put back into the answer with an error code.
    def batch_faults(client: Any, operation: str, kind: str, answer: Callable[..., None]) -> None:
        service = client.meta.service_model.service_id.hyphenize()

        def before_build(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            entries = params.get("Entries") or []
            if not entries or not faults.hit(kind):
                return
            failed = {i for i in range(len(entries)) if faults.hit(kind + ".entry", 0.5)}
            failed = failed or {faults.pick(len(entries))}
            context["fault"] = (entries, failed)
            params["Entries"] = [e for i, e in enumerate(entries) if i not in failed]

        def before_call(context: dict[str, Any], **_: Any) -> Any:
            entries, failed = context.get("fault", ([], set()))
            if entries and len(failed) == len(entries):  # nothing left to send
                return _Parsed(200), {"ResponseMetadata": {"HTTPStatusCode": 200}}
            return None

        def after_call(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if "fault" not in context:
                return
            entries, failed = context.pop("fault")
            answer(parsed, entries, failed)

        client.meta.events.register_first(
            f"before-parameter-build.{service}.{operation}", before_build
        )
        client.meta.events.register_first(f"before-call.{service}.{operation}", before_call)
        client.meta.events.register(f"after-call.{service}.{operation}", after_call)

    def put_events_answer(parsed: dict[str, Any], entries: list[Any], failed: set[int]) -> None:
        accepted = iter(parsed.get("Entries", []))
        parsed["Entries"] = [
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
            if i in failed
            else next(accepted)
            for i in range(len(entries))
        ]
        parsed["FailedEntryCount"] = parsed.get("FailedEntryCount", 0) + len(failed)

    def delete_batch_answer(parsed: dict[str, Any], entries: list[Any], failed: set[int]) -> None:
        parsed.setdefault("Successful", [])
        parsed["Failed"] = parsed.get("Failed", []) + [
            {"Id": entries[i]["Id"], "SenderFault": False, "Code": "InternalError"}
            for i in sorted(failed)
        ]

    batch_faults(events, "PutEvents", "eventbridge.put_events_partial", put_events_answer)
    batch_faults(sqs, "DeleteMessageBatch", "sqs.redelivered", delete_batch_answer)

    def throttle_ses(**_: Any) -> Any:
        if not faults.hit("ses.throttled"):
            return None
        error = {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."}
        return _Parsed(429), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 429}}

    ses.meta.events.register_first("before-call.sesv2.SendEmail", throttle_ses)


def install_twilio_faults(faults: Faults, recorder: Any) -> None:
    """Twilio's Messages API answering 429 or 5xx; else the bus's recording client takes it."""
    from twilio.http import HttpClient
    from twilio.http.response import Response

    from functions.platform import process

    class FlakyTwilio(HttpClient):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(logger=None, is_async=False)
            self.inner = recorder

        def request(self, method: str, uri: str, **kwargs: Any) -> Response:
            if faults.hit("twilio.failed"):
                status = [429, 500, 503][faults.pick(3)]
                faults.counts[f"twilio.{status}"] += 1
                body = {
                    "code": 20429 if status == 429 else 20500,
                    "message": "busy",
                    "status": status,
                }
                return Response(status, json.dumps(body))
            return self.inner.request(method, uri, **kwargs)

    process.inject(twilio_http_client=FlakyTwilio())


class FlakyReceiver:
    """An agency's webhook endpoint on 127.0.0.1: some POSTs time out, some get a 5xx."""

    def __init__(self, faults: Faults, hang_seconds: float = 0.3) -> None:
        self.faults = faults
        self.accepted: list[tuple[str, str]] = []  # (path, webhook-id) answered 2xx
        self.lock = threading.Lock()
        receiver = self
        release = threading.Event()
        self.release = release

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.faults.hit("webhook.failed"):
                    if receiver.faults.pick(2):  # no answer before the sender gives up
                        receiver.faults.counts["webhook.timeout"] += 1
                        release.wait(hang_seconds)
                        status = 504
                    else:
                        status = [500, 502, 503][receiver.faults.pick(3)]
                        receiver.faults.counts["webhook.5xx"] += 1
                else:
                    status = 204
                    with receiver.lock:
                        receiver.accepted.append((self.path, self.headers["webhook-id"]))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender hung up (timed out)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class HandlerCrashed(Exception):
    """The function died part-way through its batch."""


def crash_mid_batch(bus: Any, function: str, faults: Faults) -> None:
    """Make ``function`` crash in some invocations after handling part of its batch."""
    original = bus.handlers[function]

    def crashing(event: dict[str, Any], context: Any) -> Any:
        records = event.get("Records") or []
        if records and faults.hit(f"crash.{function}"):
            done = faults.pick(len(records))  # records handled before the crash
            if done:
                original({**event, "Records": records[:done]}, context)
            raise HandlerCrashed(function)
        return original(event, context)

    bus.handlers[function] = crashing

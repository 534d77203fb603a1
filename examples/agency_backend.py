"""A small agency back-end: receives citizenbus webhooks and answers with status updates.

    python examples/agency_backend.py --key local-streets-key --api http://127.0.0.1:8000

It subscribes its own URL (``PUT /agency/v1/subscriptions``, keeping the ``whsec_`` secret),
then verifies every delivery's Standard Webhooks signature (401 when it does not verify),
parses it with the CloudEvents SDK, acknowledges at once (204) and handles it off the request
thread: a new request is moved to ``in_progress`` through the agency API; a ``supported``
event (another citizen reported the same thing) raises the request's supporter count, a
priority signal, not a new case.
"""

from __future__ import annotations

import argparse
import json
import queue
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks import Webhook, WebhookVerificationError

SUBMITTED = "org.citizenbus.request.submitted.v1"
STATUS_CHANGED = "org.citizenbus.request.status_changed.v1"
SUPPORTED = "org.citizenbus.request.supported.v1"  # me too: another citizen reported it


class AgencyBackend:
    def __init__(self, api: str, key: str) -> None:
        self.api, self.key = api.rstrip("/"), key
        self.webhook: Webhook | None = None
        self.work: queue.Queue[Any] = queue.Queue()
        self.received: list[Any] = []  # the CloudEvents taken, in order
        self.supporters: dict[str, int] = {}  # reference → citizens who reported it too

    def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One agency API call with the agency's bearer key."""
        request = urllib.request.Request(  # noqa: S310 - the bus's own agency API
            self.api + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
            return result

    def subscribe(
        self, url: str, types: tuple[str, ...] = (SUBMITTED, STATUS_CHANGED, SUPPORTED)
    ) -> None:
        answer = self.call("PUT", "/agency/v1/subscriptions", {"url": url, "types": list(types)})
        self.webhook = Webhook(answer["secret"])

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        """Verify and parse one delivery; the HTTP status to answer."""
        try:
            if self.webhook is None:
                raise WebhookVerificationError("not subscribed")
            self.webhook.verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError):  # ValueError: garbled headers or bytes
            return 401
        try:
            event = from_http(HTTPMessage(headers, body), JSONFormat())
        except Exception:  # signed, but not a CloudEvent: refuse it, never crash the server
            return 400
        self.received.append(event)
        self.work.put(event)
        return 204

    def handle(self, event: Any) -> None:
        reference = event.get_subject()
        if event.get_type() == SUBMITTED:
            body = {"status": "in_progress", "note": "We are on it."}
            self.call("POST", f"/agency/v1/requests/{reference}/status", body)
        elif event.get_type() == STATUS_CHANGED and (event.get_data() or {}).get("status") == (
            "reopened"
        ):
            # The citizen says it is not done (data.note says why); the SLA restarted.
            body = {"status": "in_progress", "note": "Reopened: we are looking at it again."}
            self.call("POST", f"/agency/v1/requests/{reference}/status", body)
        elif event.get_type() == SUPPORTED:  # no new case: the same one, more people care
            data = event.get_data() or {}
            reference = event.get_subject()
            # events may arrive out of order: keep the highest count seen
            self.supporters[reference] = max(
                self.supporters.get(reference, 0), int(data.get("supporters", 0))
            )

    def drain(self) -> None:
        """Handle everything received so far (the worker thread does this when serving)."""
        while not self.work.empty():
            self.handle(self.work.get())

    def server(self, host: str, port: int) -> ThreadingHTTPServer:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(backend.receive(dict(self.headers.items()), body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--key", required=True, help="the agency's bearer key")
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    backend = AgencyBackend(args.api, args.key)
    server = backend.server("127.0.0.1", args.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    backend.subscribe(f"http://127.0.0.1:{server.server_address[1]}/citizenbus")
    print(f"subscribed; receiving on port {server.server_address[1]}", flush=True)
    while True:
        backend.handle(backend.work.get())


if __name__ == "__main__":
    main()

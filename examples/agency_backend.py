"""A small agency back-end: receives citizenbus webhooks and answers with status updates.

    python examples/agency_backend.py --secret whsec_... --key local-streets-key \\
        --api http://127.0.0.1:8000 --port 9000

Every POST is verified with the Standard Webhooks signature (401 if it does not verify),
parsed with the CloudEvents SDK, acknowledged at once (204), and then handled off the
request thread: a new request is moved to ``in_progress`` through the agency API.
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


class AgencyBackend:
    def __init__(self, secret: str, api: str, key: str) -> None:
        self.webhook, self.api, self.key = Webhook(secret), api.rstrip("/"), key
        self.work: queue.Queue[Any] = queue.Queue()
        self.received: list[Any] = []  # the CloudEvents taken, in order

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        """Verify and parse one delivery; the HTTP status to answer."""
        try:
            self.webhook.verify(body, headers)
        except WebhookVerificationError:
            return 401
        event = from_http(HTTPMessage(headers, body), JSONFormat())
        self.received.append(event)
        self.work.put(event)
        return 204

    def handle(self, event: Any) -> None:
        if event.get_type() == SUBMITTED:
            self.set_status(event.get_subject(), "in_progress", "We are on it.")

    def set_status(self, reference: str, status: str, note: str) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the agency API's own URL
            f"{self.api}/agency/v1/requests/{reference}/status",
            data=json.dumps({"status": status, "note": note}).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
            return result

    def drain(self) -> None:
        """Handle everything received so far (the worker thread does this when serving)."""
        while not self.work.empty():
            self.handle(self.work.get())

    def serve(self, host: str, port: int) -> ThreadingHTTPServer:
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
    parser.add_argument("--secret", required=True, help="the whsec_ secret of the subscription")
    parser.add_argument("--key", required=True, help="the agency's bearer key")
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    backend = AgencyBackend(args.secret, args.api, args.key)

    def worker() -> None:
        while True:
            backend.handle(backend.work.get())

    threading.Thread(target=worker, daemon=True).start()
    backend.serve("127.0.0.1", args.port).serve_forever()


if __name__ == "__main__":
    main()

"""The local bus's HTTP front: a threaded HTTP server in front of :class:`LocalBus`."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from citizenbus.local.outbox import collect
from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from schemas.catalog import load_catalog

MAX_REQUEST_BYTES = 1024 * 1024


def make_server(bus: LocalBus, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "citizenbus"
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                self._send(
                    413,
                    {"Content-Type": "application/json"},
                    json.dumps(
                        {"errors": [{"field": "body", "message": "request too large"}]}
                    ).encode(),
                )
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            headers: dict[str, str] = {}
            for key, value in self.headers.items():
                k = key.lower()
                headers[k] = f"{headers[k]},{value}" if k in headers else value
            if self.command == "POST" and self.path.rstrip("/") == "/_local/redrive":
                self._send(*local_redrive(bus, body))
                return
            if self.command == "POST" and self.path.rstrip("/") == "/_local/erase":
                self._send(*local_redrive(bus, body, function="erasure"))
                return
            if self.path.startswith("/_local/"):
                response = local_route(bus, self.command, self.path)
                if response is not None:
                    self._send(*response)
                    return
            result = bus.request(
                self.command,
                self.path,
                headers=headers,
                body=body,
                host=headers.get("host", f"{host}:{port}"),
            )
            self._send(result.status, result.headers, result.body)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the handlers log; keep the console for what matters

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def local_route(bus: LocalBus, method: str, path: str) -> tuple[int, dict[str, str], bytes] | None:
    """Local-only inspection routes (never deployed): what sits in the agency queues."""
    if method != "GET":
        return None
    path = path.split("?", maxsplit=1)[0].rstrip("/")
    agencies = load_catalog().agency_ids()
    body: Any
    if path == "/_local/outbox":
        body = collect(bus)
    elif path == "/_local/queues":
        body = {a: len(bus.queue_messages(agency_queue(a))) for a in agencies}
    elif path.startswith("/_local/queues/") and path.rsplit("/", 1)[1] in agencies:
        body = bus.queue_messages(agency_queue(path.rsplit("/", 1)[1]))
    else:
        return None
    return 200, {"Content-Type": "application/json"}, json.dumps(body, indent=2).encode()


def local_redrive(
    bus: LocalBus, body: bytes, function: str = "redrive"
) -> tuple[int, dict[str, str], bytes]:
    """``citizenbus redrive --local`` (and ``erase --local``): run the operator function
    inside the local bus."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        request = None
    if not isinstance(request, dict):
        errors = {"errors": [{"field": "body", "message": "send a JSON object"}]}
        return 400, {"Content-Type": "application/json"}, json.dumps(errors).encode()
    result = bus.invoke(function, request)
    status = 400 if "errors" in result else 200
    return status, {"Content-Type": "application/json"}, json.dumps(result).encode()

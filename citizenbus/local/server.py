"""The local bus's HTTP front: a threaded HTTP server in front of :class:`LocalBus`.

The local-only routes under ``/_local/`` answer only requests whose ``Host`` names this
server (an IP address or ``localhost`` with its port, or the public URL's host), so a web page
on a DNS-rebinding name cannot read them. The operator routes (``/_local/erase``,
``/_local/redrive``) also take JSON only and ``Authorization: Bearer
<CITIZENBUS_OPERATOR_TOKEN>``, so no web page the developer visits can post to them (a browser
sends neither without a CORS preflight, which this server never grants).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from citizenbus.local import seed
from citizenbus.local.outbox import collect
from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from schemas.catalog import load_catalog

MAX_REQUEST_BYTES = 1024 * 1024
OPERATOR_TOKEN_VARIABLE = "CITIZENBUS_OPERATOR_TOKEN"  # noqa: S105 - a variable's name
OPERATOR_ROUTES = {"/_local/redrive": "redrive", "/_local/erase": "erasure"}

SEED_ROUTE = (
    "/_local/seed"  # citizenbus seed: batches of planned filings (citizenbus/local/seed.py)
)
MAX_SEED_BATCH = 2000

Answer = tuple[int, dict[str, str], bytes]


def operator_token() -> str:
    """``CITIZENBUS_OPERATOR_TOKEN`` if set, else a random token for this run."""
    return os.environ.get(OPERATOR_TOKEN_VARIABLE) or secrets.token_urlsafe(32)


class OperatorServer(ThreadingHTTPServer):
    """The HTTP server, with the operator token its operator routes require."""

    operator_token: str
    public_host: str | None


def make_server(bus: LocalBus, host: str, port: int, token: str | None = None) -> OperatorServer:
    """The local bus on ``host:port``; ``token`` (default: :func:`operator_token`) guards
    the operator routes and is ``server.operator_token``."""

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
            if self.path.startswith("/_local/"):
                here = server.server_port
                if not served_host(headers.get("host", ""), here, server.public_host):
                    self._send(*_error(421, "host", "this host name is not served here"))
                    return
                route = self.path.split("?", maxsplit=1)[0].rstrip("/")
                if route in OPERATOR_ROUTES or route == SEED_ROUTE:
                    self._send(*operator_route(bus, self.command, route, headers, body, server))
                    return
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

    server = OperatorServer((host, port), Handler)
    server.daemon_threads = True
    server.operator_token = token or operator_token()
    public = os.environ.get("CITIZENBUS_PUBLIC_URL") or bus.public_url
    server.public_host = urlsplit(public).netloc.lower() if public else None
    return server


def served_host(header: str, port: int, public_host: str | None = None) -> bool:
    """Whether a ``Host`` header names this server: an IP address or ``localhost`` with the
    port it listens on, or the public URL's host. A DNS-rebinding page arrives with its own
    name in ``Host`` and is refused."""
    value = header.strip().lower()
    if not value:
        return False
    if public_host and value == public_host:
        return True
    name, _, given = value.rpartition(":") if not value.endswith("]") else (value, "", "")
    if not name or not given.isdigit() or int(given) != port:
        return False
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _error(status: int, field: str, message: str, **headers: str) -> Answer:
    body = json.dumps({"errors": [{"field": field, "message": message}]}).encode()
    return status, {"Content-Type": "application/json", **headers}, body


def operator_route(
    bus: LocalBus,
    method: str,
    route: str,
    headers: dict[str, str],
    body: bytes,
    server: OperatorServer,
) -> Answer:
    """``/_local/erase`` and ``/_local/redrive``: POST, JSON, the operator's bearer token."""
    if method != "POST":
        return _error(405, "method", "POST only", Allow="POST")
    scheme, _, presented = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), server.operator_token.encode()
    ):
        return _error(
            401,
            "authorization",
            f"Authorization: Bearer <{OPERATOR_TOKEN_VARIABLE}> is required",
            **{"WWW-Authenticate": "Bearer"},
        )
    ctype = headers.get("content-type", "").split(";", maxsplit=1)[0].strip().lower()
    if ctype != "application/json":
        return _error(415, "content-type", "send application/json")
    if route == SEED_ROUTE:
        return seed_batch(bus, body)
    return local_redrive(bus, body, function=OPERATOR_ROUTES[route])


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


def seed_batch(bus: LocalBus, body: bytes) -> Answer:
    """``citizenbus seed``: file a batch of planned filings as history (``{"filings": [...]}``,
    at most :data:`MAX_SEED_BATCH`), in the bus's process under its lock."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        request = None
    filings = request.get("filings") if isinstance(request, dict) else None
    if not isinstance(filings, list) or not 0 < len(filings) <= MAX_SEED_BATCH:
        message = f"send a JSON object with filings: a list of 1 to {MAX_SEED_BATCH}"
        return _error(400, "filings", message)
    try:
        with bus.lock:
            counts = seed.apply(filings)
    except seed.BadFiling as exc:  # checked before anything is written
        return _error(400, "filings", str(exc))
    seed.settle()
    export_soon(bus)
    return 200, {"Content-Type": "application/json"}, json.dumps(counts).encode()


EXPORT_AFTER_SEED_S = 10.0


def export_soon(bus: LocalBus) -> None:
    """A backfill is followed by the open-data export (``bulk.py`` says so): the scheduled
    export runs :data:`EXPORT_AFTER_SEED_S` after the last seed batch, so the first read of
    ``stats.json`` or ``/open-data/`` after ``citizenbus seed`` is the exported file, not an
    aggregation of the whole table on the request path. That run is a ``rebuild``: the seed
    filed into past days an earlier export may already have settled as final."""
    if "open_data_export" in bus.schedules:
        bus.schedules["open_data_export"] = time.monotonic() + EXPORT_AFTER_SEED_S
        bus.schedule_extra["open_data_export"] = {"rebuild": True}


def local_redrive(bus: LocalBus, body: bytes, function: str = "redrive") -> Answer:
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

"""The embedded AWS over HTTP: ``citizenbus serve --aws-port``.

The local bus keeps its AWS in moto's in-process backends (``mock_aws``). moto's own server
application (``moto.moto_server``, what ``moto_server`` and ``ThreadedMotoServer`` run) reads
and writes those same backends, so serving it on a port shows the AWS CLI and any SDK the
bus's own tables, queues, bus and secrets: a rule put on the ``citizenbus`` bus through the
port receives what the bus publishes, and a queue read through the port is the queue the bus
fills. SQS answers queue URLs on the host the request named, so they point at the port.

The socket is bound here, in the caller's thread (``ThreadedMotoServer`` binds in its own
thread and waits forever when the port is taken), and every request passes a guard first:

- a browser is refused: a request with ``Origin`` (a web page's ``fetch``) or an ``OPTIONS``
  preflight gets 403, so no page the developer visits can read the bus's data through moto's
  permissive CORS;
- the ``Host`` must name this server (an IP address or ``localhost`` with the port, or the
  ``--host`` name), so a DNS-rebinding page is refused with 421;
- the request must carry an AWS signature (any credentials: moto does not check them), which
  a page cannot add without a preflight;
- moto's own control API (``/moto-api/``: reset, dashboard, seeding) is off: a reset would
  take the bus's tables and queues away under it.

Nothing else is checked: whoever reaches the port can read and change everything. Hence the
loopback default, and the warning ``citizenbus serve`` prints for any other host.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from citizenbus.local.server import served_host

DEFAULT_AWS_PORT = 4566  # the port LocalStack and most tools expect
REGION = "eu-north-1"
ACCOUNT = "123456789012"  # moto's default account: what the local bus uses
ACCESS_KEY = "local"  # any value works: moto reads the region from the signature, not the key
SECRET_KEY = "local"  # noqa: S105 - not a secret: moto accepts any

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def refusal(environ: dict[str, Any], port: int, host_name: str | None) -> tuple[str, str] | None:
    """Why the guard refuses a request (HTTP status line, message), or None to serve it."""
    if environ.get("HTTP_ORIGIN") or environ.get("REQUEST_METHOD") == "OPTIONS":
        return "403 Forbidden", "browsers are refused: the embedded AWS serves the AWS CLI and SDKs"
    if not served_host(environ.get("HTTP_HOST", ""), port, host_name):
        return "421 Misdirected Request", "this host name is not served here"
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return "403 Forbidden", "moto's control API is off: it would reset the bus under it"
    signed = environ.get("HTTP_AUTHORIZATION", "").startswith("AWS4-HMAC-SHA256")
    if not signed and "X-Amz-Signature=" not in environ.get("QUERY_STRING", ""):
        return "403 Forbidden", "sign the request (any credentials; see the start-up banner)"
    return None


def guarded(app: WsgiApp, port: int, host_name: str | None) -> WsgiApp:
    """``app`` behind :func:`refusal`."""

    def serve(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        problem = refusal(environ, port, host_name)
        if problem is None:
            return app(environ, start_response)
        status, message = problem
        body = json.dumps({"errors": [{"field": "request", "message": message}]}).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return serve


def make_aws_server(host: str, port: int) -> BaseWSGIServer:
    """moto's server application on ``host:port``, bound now (``OSError`` if the port is
    taken), behind :func:`guarded`; serve it with :func:`start`."""
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - moto's server (Flask) for serve only
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any) -> None:
            pass  # one line per SDK call would bury the bus's own console

    app = DomainDispatcherApplication(create_backend_app)
    named = None if _is_address(host) else f"{host.lower()}:{port}"
    # Bound here, so a taken port raises OSError: werkzeug, binding itself, would print its
    # own advice and exit the process.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_server((host.strip("[]"), port), family=family) as bound:
        server: BaseWSGIServer = make_server(
            host,
            port,
            guarded(app, port, named),
            threaded=True,
            request_handler=QuietHandler,
            fd=bound.fileno(),  # werkzeug serves a duplicate of this socket
        )
    return server


def start(server: BaseWSGIServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="aws-port")
    thread.start()
    return thread


def endpoint(host: str, port: int) -> str:
    """The URL a client on this machine uses (a wildcard bind is reached on loopback)."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a comparison
    return f"http://{reachable}:{port}"


def banner(host: str, port: int) -> str:
    """What ``citizenbus serve`` prints about the embedded AWS."""
    url = endpoint(host, port)
    return f"""Embedded AWS (moto) on {url}: the AWS CLI and SDKs, unchanged:
  export AWS_ENDPOINT_URL={url}
  export AWS_ACCESS_KEY_ID={ACCESS_KEY} AWS_SECRET_ACCESS_KEY={SECRET_KEY}
  export AWS_DEFAULT_REGION={REGION}
  aws dynamodb list-tables
  aws sqs receive-message --wait-time-seconds 20 \\
      --queue-url {url}/{ACCOUNT}/citizenbus-agency-streets
  python examples/sqs_consumer.py --agency streets      (your queue)
  python examples/own_rule_consumer.py --agency streets  (your own rule on bus citizenbus)
"""


def exposure_warning(host: str, port: int) -> str:
    return (
        f"WARNING: the embedded AWS on {host}:{port} answers anyone who reaches it, without"
        " authentication: every table (citizens' phone numbers, e-mail addresses and"
        " addresses), queue and secret (agency keys, Twilio token) can be read, changed or"
        " deleted. Serve it on loopback only (--host 127.0.0.1) or turn it off: --aws-port 0.\n"
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() == "localhost"
    return True

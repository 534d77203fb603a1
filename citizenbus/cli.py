"""``citizenbus``: the local bus and its tools."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time


def local_token(sub: str = "demo-citizen", hours: int = 12) -> str:
    """A JWT from the local identity provider (HS256 with ``CITIZENBUS_JWT_SECRET``)."""
    import jwt

    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "iat": now, "exp": now + hours * 3600},
        os.environ["CITIZENBUS_JWT_SECRET"],
        algorithm="HS256",
    )


def serve(host: str, port: int) -> int:
    from citizenbus.local.runtime import LocalBus
    from citizenbus.local.server import make_server

    public_url = os.environ.get("CITIZENBUS_PUBLIC_URL") or f"http://{host}:{port}"
    bus = LocalBus(public_url=public_url).start()
    server = make_server(bus, host, port)
    stop = threading.Event()
    workers = threading.Thread(target=bus.run_workers, args=(stop,), daemon=True, name="workers")
    workers.start()
    token = local_token()
    base = f"http://{host}:{port}"
    print(
        f"""citizenbus local bus on {base}  (AWS: embedded moto, region {os.environ["AWS_REGION"]})

  web e-service   GET  {base}/  (English: {base}/en)
  health          GET  {base}/healthz
  app API         POST {base}/app/v1/requests        (Authorization: Bearer <token>)
  e-service form  POST {base}/eservice/v1/forms/{{service_code}}
  agency queues   GET  {base}/_local/queues  and  {base}/_local/queues/{{agency}}

Local credentials (set the variables to change them):
  CITIZENBUS_PUBLIC_URL  = {public_url}
  CITIZENBUS_JWT_SECRET  = {os.environ["CITIZENBUS_JWT_SECRET"]}
  app token (sub=demo-citizen, 12 h):
    {token}

Try:
  curl -s -X POST {base}/app/v1/requests -H 'Authorization: Bearer {token[:16]}…' \\
       -H 'Content-Type: application/json' \\
       -d '{{"service_code": "street-damage", "attributes": {{"address": "Storgatan 1"}}}}'

Press Ctrl+C to stop.""",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
    finally:
        stop.set()
        server.server_close()
        workers.join(timeout=5)
        bus.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="citizenbus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the local bus")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    commands.add_parser("demo", help="a scripted journey on an in-process bus")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.host, args.port)
    if args.command == "demo":
        from citizenbus.demo import run_demo

        return run_demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""``citizenbus``: the local bus and its tools."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from functions.domain.citizens import erasure
from functions.platform.settings import get_settings

ACR_LEVELS = ("low", "substantial", "high")  # eIDAS levels: the token's acr is their URI


def local_token(sub: str = "demo-citizen", hours: int = 12, acr: str | None = None) -> str:
    """A JWT from the local identity provider (HS256 with ``CITIZENBUS_JWT_SECRET``, else the
    local bus's default); ``acr`` (``low``, ``substantial``, ``high``) names the eIDAS level of
    the sign-in, as a BankID or Freja broker would."""
    import jwt  # noqa: PLC0415 - PyJWT (~100 ms) only for the commands that mint a token

    secret = os.environ.get("CITIZENBUS_JWT_SECRET")
    if not secret:
        from citizenbus.local.runtime import DEFAULT_JWT_SECRET  # noqa: PLC0415 - the local bus's default, only when no secret is set

        secret = DEFAULT_JWT_SECRET
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + hours * 3600}
    if acr:
        claims["acr"] = f"http://eidas.europa.eu/LoA/{acr}"
    return jwt.encode(claims, secret, algorithm="HS256")


OPERATOR_TOKEN_VARIABLE = "CITIZENBUS_OPERATOR_TOKEN"  # noqa: S105 - a variable's name
# The printed local defaults: fine on loopback, never on an address others can reach.
DEFAULT_KEY_VARIABLES = (
    "CITIZENBUS_AGENCY_KEYS",
    "CITIZENBUS_OPEN311_KEYS",
    "CITIZENBUS_JWT_SECRET",
    "TWILIO_AUTH_TOKEN",
)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposed_environment() -> tuple[dict[str, str], list[str]]:
    """Serving beyond loopback: every key not set explicitly is not the printed default but
    off (no agency or Open311 key works) or random (JWT secret, Twilio token); the overrides
    for the bus and the variables that were not set."""
    unset = [name for name in DEFAULT_KEY_VARIABLES if not os.environ.get(name)]
    env: dict[str, str] = {}
    for name in unset:
        random_value = name in ("CITIZENBUS_JWT_SECRET", "TWILIO_AUTH_TOKEN")
        env[name] = secrets.token_urlsafe(32) if random_value else ""
    return env, unset


def serve(host: str, port: int) -> int:
    # The local bus (moto, pydantic, twilio) loads for ``serve`` only, not for every command
    from citizenbus.local.runtime import LocalBus  # noqa: PLC0415 - see above
    from citizenbus.local.server import make_server, operator_token  # noqa: PLC0415 - see above

    public_url = os.environ.get("CITIZENBUS_PUBLIC_URL") or f"http://{host}:{port}"
    exposed = not is_loopback(host)
    overrides, unset = exposed_environment() if exposed else ({}, [])
    bus = LocalBus(env=overrides, public_url=public_url).start()  # "" leaves a variable unset
    operator = operator_token()
    server = make_server(bus, host, port, operator)
    stop = threading.Event()
    workers = threading.Thread(target=bus.run_workers, args=(stop,), daemon=True, name="workers")
    workers.start()
    token = local_token()
    base = f"http://{host}:{port}"
    if exposed:
        print(
            f"WARNING: serving on {host}, beyond this machine: anyone who reaches port {port}"
            " can use the bus. The local default keys are off; not set, so refused or random:"
            f" {', '.join(unset) or 'none'}. Set them explicitly to use those routes.\n",
            flush=True,
        )
    print(
        f"""citizenbus local bus on {base}  (AWS: embedded moto, region {os.environ["AWS_REGION"]})

  web e-service   GET  {base}/  (English: {base}/en)
  health          GET  {base}/healthz
  app API         POST {base}/app/v1/requests        (Authorization: Bearer <token>)
  e-service form  POST {base}/eservice/v1/forms/{{service_code}}
  SMS (Twilio)    POST {base}/channels/sms  (status callback: /channels/sms/status)
  voice (Twilio)  POST {base}/channels/voice
  agency queues   GET  {base}/_local/queues  and  {base}/_local/queues/{{agency}}
  agency API      GET  {base}/agency/v1/requests/{{reference}}  (Bearer <agency key>)
                  POST {base}/agency/v1/requests/{{reference}}/status
                  PUT  {base}/agency/v1/subscriptions  (webhooks; citizenbus redrive --local)
  Open311         GET  {base}/open311/v2/services.json  (requests.json, POST requests.json)
  open data       GET  {base}/open-data/  and  {base}/open-data/v1/stats.csv

Local credentials (set the variables to change them):
  CITIZENBUS_PUBLIC_URL  = {public_url}
  CITIZENBUS_JWT_SECRET  = {os.environ["CITIZENBUS_JWT_SECRET"]}
  CITIZENBUS_AGENCY_KEYS = {os.environ.get("CITIZENBUS_AGENCY_KEYS", "")}
  CITIZENBUS_OPEN311_KEYS = {os.environ.get("CITIZENBUS_OPEN311_KEYS", "")}  (Open311 POST api_key)
  TWILIO_AUTH_TOKEN      = {get_settings().twilio_auth_token}
  CITIZENBUS_OPERATOR_TOKEN = {operator}
    (operator routes /_local/erase, /_local/redrive; citizenbus erase/redrive --local read it)
    (a signed test text: python -m citizenbus.local.phone sms +46701234567 'GATA Storgatan 1')
  app token (sub=demo-citizen, 12 h), ready to paste:
    export TOKEN={token}

Try:
  curl -s -X POST {base}/app/v1/requests -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"service_code": "street-damage", "attributes": {{"address": "Storgatan 1"}}}}'
  curl -s {base}/_local/queues/streets

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


def post_local(base: str, path: str, body: object, command: str) -> dict[str, Any] | None:
    """POST an operator command to a running local bus with ``CITIZENBUS_OPERATOR_TOKEN``;
    its JSON answer, None if unreachable."""
    token = os.environ.get(OPERATOR_TOKEN_VARIABLE)
    if not token:
        message = f"set {OPERATOR_TOKEN_VARIABLE} to the token citizenbus serve printed"
        return {"errors": [{"field": "authorization", "message": message}]}
    http = urllib.request.Request(  # noqa: S310 - the operator's own local bus
        base.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http, timeout=60) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read() or b"{}") or {"errors": [{"message": str(exc)}]}
    except (urllib.error.URLError, OSError) as exc:
        print(f"{command}: cannot reach the local bus at {base}: {exc}", file=sys.stderr)
        return None
    return answer


def redrive(agency: str | None, limit: int | None, local: str | None, outbox: bool = False) -> int:
    """Move webhook deliveries from the DLQs back to the delivery queues (or, ``outbox``,
    publish again what the outbox stream parked in its on-failure queue); print the counts.

    Against AWS with the usual boto3 credentials and region; with ``--local`` through the
    running local bus (its AWS lives inside that process).
    """

    request: dict[str, object] = {k: v for k, v in (("agency", agency), ("limit", limit)) if v}
    if outbox:
        request = {"outbox": True} | ({"limit": limit} if limit else {})
    if local:
        result = post_local(local, "/_local/redrive", request, "redrive")
        if result is None:
            return 1
    elif outbox:
        # The outbox redrive (pydantic catalog, cloudevents) on the AWS path only
        from functions.redrive.outbox import redrive_outbox  # noqa: PLC0415 - see above

        result = {"outbox": redrive_outbox(limit).as_dict()}
    else:
        # The pydantic catalog and webhook code (~220 ms) on the AWS path only; --local posts
        from functions.domain.agencies.webhooks import redrive as move  # noqa: PLC0415 - see above
        from schemas.catalog import load_catalog  # noqa: PLC0415 - see above

        agencies = load_catalog().agency_ids()
        if agency and agency not in agencies:
            print(f"redrive: no such agency: {agency}", file=sys.stderr)
            return 2
        result = {"moved": move([agency] if agency else agencies, limit)}
    if "errors" in result:
        print(f"redrive: {result['errors'][0]['message']}", file=sys.stderr)
        return 2
    if "outbox" in result:
        counts = result["outbox"]
        print(
            f"outbox: {counts['parked']} parked batch(es) redriven, {counts['published']}"
            f" event(s) published again, {counts['missing']} entry(ies) gone,"
            f" {counts['left']} batch(es) left on the queue"
        )
        return 0 if not counts["left"] else 1
    for name, count in result["moved"].items():
        print(f"{name}: {count} message(s) back on the delivery queue")
    return 0


def erase(subject: dict[str, str], local: str | None, dry_run: bool = False) -> int:
    """Erase one citizen's personal data; print what was touched (counts only).

    Against AWS with the usual boto3 credentials and region; with ``--local`` through the
    running local bus. ``dry_run``: print what would be touched and change nothing.
    """

    if local:
        body: dict[str, Any] = {**subject, "dry_run": True} if dry_run else dict(subject)
        result = post_local(local, "/_local/erase", body, "erase")
        if result is None:
            return 1
    else:
        try:
            done = erasure.erase(
                phone=subject.get("phone"),
                email=subject.get("email"),
                citizen=subject.get("citizen"),
                dry_run=dry_run,
            )
            result = {"erased": done.as_dict()}
        except erasure.InvalidSubject as exc:
            result = {"errors": [{"message": str(exc)}]}
    if "errors" in result:
        print(f"erase: {result['errors'][0]['message']}", file=sys.stderr)
        return 2
    counts = result["erased"]
    if dry_run:
        print(
            f"dry run, nothing changed: would anonymise {counts['requests']} request(s), remove"
            f" the contact from {counts.get('contacts_removed', 0)} other request(s), delete"
            f" {counts['citizen_items']} citizen item(s), {counts['dedup_items']} dedup item(s)"
            f" and {counts.get('outbox_items', 0)} waiting event(s)"
        )
        return 0
    print(
        f"erased: {counts['requests']} request(s) anonymised, the contact removed from"
        f" {counts.get('contacts_removed', 0)} other request(s), {counts['citizen_items']}"
        f" citizen item(s) and {counts['dedup_items']} dedup item(s) deleted"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="citizenbus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the local bus")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    commands.add_parser("demo", help="a scripted journey on an in-process bus")
    token_cmd = commands.add_parser(
        "token", help="print an app token from the local identity provider"
    )
    token_cmd.add_argument("--sub", default="demo-citizen", help="the citizen (JWT sub)")
    token_cmd.add_argument(
        "--acr", choices=ACR_LEVELS, help="the sign-in's eIDAS level (high: as with BankID)"
    )
    token_cmd.add_argument("--hours", type=int, default=12, help="valid this long")
    redrive_cmd = commands.add_parser(
        "redrive", help="send webhook deliveries waiting in the dead-letter queues again"
    )
    redrive_cmd.add_argument("--agency", help="only this agency (default: every agency)")
    redrive_cmd.add_argument("--limit", type=int, help="at most this many messages per agency")
    redrive_cmd.add_argument(
        "--outbox",
        action="store_true",
        help="publish again the events the outbox stream parked in its on-failure queue",
    )
    redrive_cmd.add_argument(
        "--local",
        nargs="?",
        const="http://127.0.0.1:8000",
        metavar="URL",
        help="the local bus (citizenbus serve) instead of AWS; default URL %(const)s",
    )
    erase_cmd = commands.add_parser(
        "erase", help="remove one identity's personal data, and only theirs (keeps the statistics)"
    )
    who = erase_cmd.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone", help="the citizen's phone number (any format)")
    who.add_argument("--email", help="the citizen's e-mail address")
    who.add_argument("--citizen", help="the pseudonymous citizen id (cit_...)")
    erase_cmd.add_argument(
        "--dry-run",
        action="store_true",
        help="count what would be erased and change nothing",
    )
    erase_cmd.add_argument(
        "--local",
        nargs="?",
        const="http://127.0.0.1:8000",
        metavar="URL",
        help="the local bus (citizenbus serve) instead of AWS; default URL %(const)s",
    )
    args = parser.parse_args(argv)
    if args.command == "erase":
        named = {"phone": args.phone, "email": args.email, "citizen": args.citizen}
        return erase({k: v for k, v in named.items() if v}, args.local, args.dry_run)
    if args.command == "redrive":
        if args.outbox and args.agency:
            print("redrive: --outbox is for every agency; drop --agency", file=sys.stderr)
            return 2
        return redrive(args.agency, args.limit, args.local, args.outbox)
    if args.command == "token":
        print(local_token(args.sub, args.hours, args.acr))
        return 0
    if args.command == "serve":
        return serve(args.host, args.port)
    if args.command == "demo":
        from citizenbus.demo import run_demo  # noqa: PLC0415 - the local bus for ``demo`` only

        return run_demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""``citizenbus``: the local bus and its tools."""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from functions.domain.citizens import erasure
from functions.platform.settings import get_settings
from schemas.catalog import load_catalog

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


def port_number(text: str) -> int:
    """``--port``/``--aws-port``: 0 to 65535."""
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0 to 65535)")
    return value


def port_in_use(what: str, host: str, port: int, option: str) -> int:
    """A port another program holds: say which and how to choose another; exit status 2."""
    print(
        f"citizenbus serve: cannot listen on {host}:{port} for {what}: the port is in use"
        f" (another citizenbus serve, or LocalStack?). Choose another with {option}.",
        file=sys.stderr,
    )
    return 2


class _Terminated(Exception):
    """SIGTERM: stop as on Ctrl+C (the last snapshot written)."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def _marking(app: Any, changed: Any) -> Any:
    """The AWS port's app, marking the kept bus changed after each call it serves (those
    calls pass no botocore hook of the bus)."""

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return app(environ, start_response)
        finally:
            changed()

    return serve


def serve(
    host: str, port: int, aws_port: int = 4566, data: str | None = None, fresh: bool = False
) -> int:
    # The local bus (moto, pydantic, twilio) loads for ``serve`` only, not for every command
    from citizenbus.local import aws_port as embedded  # noqa: PLC0415 - see above
    from citizenbus.local.runtime import LocalBus  # noqa: PLC0415 - see above
    from citizenbus.local.server import make_server, operator_token  # noqa: PLC0415 - see above

    public_url = os.environ.get("CITIZENBUS_PUBLIC_URL") or f"http://{host}:{port}"
    exposed = not is_loopback(host)
    overrides, unset = exposed_environment() if exposed else ({}, [])
    keeper = None
    refused: tuple[type[Exception], ...] = ()
    if data:
        from citizenbus.local.persistence import (  # noqa: PLC0415 - with --data only
            Persistence,
            SnapshotRefused,
        )

        refused = (SnapshotRefused,)
        try:
            keeper = Persistence(data, fresh=fresh)
        except SnapshotRefused as exc:
            print(f"citizenbus serve: {exc}", file=sys.stderr)
            return 2
    # "" in overrides leaves a variable unset
    bus = LocalBus(env=overrides, public_url=public_url, persistence=keeper)
    operator = operator_token()
    # Both ports are bound before the bus starts: a port in use is said at once, plainly.
    try:
        server = make_server(bus, host, port, operator)
    except OSError:
        if keeper is not None:
            keeper.release()
        return port_in_use("the bus", host, port, "--port")
    try:
        aws_server = embedded.make_aws_server(host, aws_port) if aws_port else None
    except OSError:
        server.server_close()
        if keeper is not None:
            keeper.release()
        return port_in_use(
            "the embedded AWS", host, aws_port, "--aws-port (0 turns the AWS port off)"
        )
    try:
        bus.start()
    except refused as exc:  # a snapshot of another version: nothing written, nothing served
        print(f"citizenbus serve: {exc}", file=sys.stderr)
        if keeper is not None:
            keeper.release()
        bus.stop()
        server.server_close()
        if aws_server is not None:
            aws_server.server_close()
        return 2
    if aws_server is not None:
        if keeper is not None:
            aws_server.app = _marking(aws_server.app, keeper.mark_dirty)
        embedded.start(aws_server)  # the same moto backends as the bus, now provisioned
    kept = (
        f"{keeper.directory}  (kept across restarts; --fresh empties it)"
        if keeper is not None
        else "in memory only (--data DIR keeps it across restarts)"
    )
    stop = threading.Event()
    workers = threading.Thread(target=bus.run_workers, args=(stop,), daemon=True, name="workers")
    workers.start()
    snapshots = None
    if keeper is not None:
        snapshots = threading.Thread(target=keeper.run, args=(stop,), daemon=True, name="snapshots")
        snapshots.start()
    token = local_token()
    base = f"http://{host}:{port}"
    if exposed:
        print(
            f"WARNING: serving on {host}, beyond this machine: anyone who reaches port {port}"
            " can use the bus. The local default keys are off; not set, so refused or random:"
            f" {', '.join(unset) or 'none'}. Set them explicitly to use those routes.\n",
            flush=True,
        )
    if exposed and aws_server is not None:
        print(embedded.exposure_warning(host, aws_port), flush=True)
    aws_lines = (
        embedded.banner(host, aws_port)
        if aws_server is not None
        else "Embedded AWS: in-process only (--aws-port 0); give --aws-port 4566 to serve it.\n"
    )
    print(
        f"""citizenbus local bus on {base}  (AWS: embedded moto, region {os.environ["AWS_REGION"]})
  data: {kept}

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
  operator token for citizenbus seed and erase/redrive --local, ready to paste:
    export CITIZENBUS_OPERATOR_TOKEN={operator}

Try:
  curl -s -X POST {base}/app/v1/requests -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"service_code": "street-damage", "attributes": {{"address": "Storgatan 1"}}}}'
  curl -s {base}/_local/queues/streets

{aws_lines}
Press Ctrl+C to stop.""",
        flush=True,
    )
    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, _Terminated):
        print("\nstopping", flush=True)
    finally:
        if main:  # a second SIGTERM ends the process (a snapshot is never half-written)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop.set()
        server.server_close()
        if aws_server is not None:
            aws_server.shutdown()
            aws_server.server_close()
        workers.join(timeout=5)
        if keeper is not None:
            if snapshots is not None:
                snapshots.join(timeout=60)
            saved = keeper.close()
            if saved is not None:
                print(f"saved the bus to {keeper.directory} ({saved.bytes / 1e6:.1f} MB)")
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


def seed_city(requests: int, days: int, seed: int, base: str) -> int:
    """``citizenbus seed``: plan the city here, file it in the running bus in batches."""
    from datetime import UTC, datetime  # noqa: PLC0415 - seed only

    from rich.progress import Progress  # noqa: PLC0415 - seed only

    from citizenbus.local import seed as city  # noqa: PLC0415 - seed only

    if requests < 1 or days < 1:
        print("seed: --requests and --days must be at least 1", file=sys.stderr)
        return 2
    sla = {s.service_code: s.sla_days for s in load_catalog().services}
    end = datetime.now(UTC).date()
    filings = city.plan(requests, days, seed, end, sla)
    totals = {"filed": 0, "followed": 0, "changes": 0, "reopened": 0, "verdicts": 0, "flagged": 0}
    with Progress() as progress:
        task = progress.add_task(f"seeding {requests:,} requests", total=requests)
        while batch := list(itertools.islice(filings, city.BATCH)):
            answer = post_local(base, "/_local/seed", {"filings": batch}, "seed")
            if answer is None:
                return 1
            if "errors" in answer:
                print(f"seed: {json.dumps(answer['errors'])}", file=sys.stderr)
                return 1
            totals = {k: totals[k] + int(answer.get(k, 0)) for k in totals}
            progress.advance(task, len(batch))
    print(
        f"seeded {totals['filed']:,} requests over {days} days to {end} (seed {seed}):"
        f" {totals['changes']:,} status changes, {totals['flagged']:,} flagged late,"
        f" {totals['followed']:,} repeated an open request (followers),"
        f" {totals['reopened']:,} reopened by their citizen, {totals['verdicts']:,} verdicts"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="citizenbus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the local bus")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=port_number, default=8000)
    serve_cmd.add_argument(
        "--aws-port",
        type=port_number,
        default=4566,
        metavar="A",
        help="serve the embedded AWS (moto) over HTTP on this port, for the AWS CLI and SDKs"
        " (default %(default)s; 0 turns it off)",
    )
    serve_cmd.add_argument(
        "--data",
        metavar="DIR",
        help="keep everything the bus holds in DIR across restarts (personal data: created 0700)",
    )
    serve_cmd.add_argument(
        "--fresh", action="store_true", help="start empty: remove the snapshots kept in --data DIR"
    )
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
    seed_cmd = commands.add_parser("seed", help="fill a running local bus with a synthetic city")
    seed_cmd.add_argument("--requests", type=int, default=100_000, help="default %(default)s")
    seed_cmd.add_argument("--days", type=int, default=365, help="default %(default)s")
    seed_cmd.add_argument("--seed", type=int, default=1, help="default %(default)s")
    seed_cmd.add_argument("--local", default="http://127.0.0.1:8000", metavar="URL")
    args = parser.parse_args(argv)
    if args.command == "seed":
        return seed_city(args.requests, args.days, args.seed, args.local)
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
        return serve(args.host, args.port, args.aws_port, args.data, args.fresh)
    if args.command == "demo":
        from citizenbus.demo import run_demo  # noqa: PLC0415 - the local bus for ``demo`` only

        return run_demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())

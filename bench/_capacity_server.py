"""``citizenbus serve`` with the bench's botocore hooks: the peak-minute simulation's server.

Run as ``python -m bench._capacity_server --port N --out FILE``. Every AWS call the local bus
and its handlers make is counted (service, operation, table) with its billing units
(``bench.price``); on SIGUSR1 the counts so far are written to ``FILE`` as JSON, on SIGTERM
too, and the process exits.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from bench.price import _units
from functions.platform import process

_LOCK = threading.Lock()
CALLS: Counter[str] = Counter()
TABLE_UNITS: dict[str, Counter[str]] = {}
ENTRIES: Counter[str] = Counter()


def _before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
    service, operation = model.service_model.service_name, model.name
    body: dict[str, Any] = {}
    if service in ("dynamodb", "events"):  # JSON protocols: the serialized request body
        try:
            body = json.loads(params.get("body") or b"{}")
        except ValueError:
            body = {}
    with _LOCK:
        CALLS[f"{service}.{operation}"] += 1
        if service == "events" and operation == "PutEvents":
            ENTRIES["events.PutEvents"] += len(body.get("Entries", []))
        if service == "dynamodb":
            tables = {body["TableName"]} if body.get("TableName") else set()
            for item in body.get("TransactItems", []):
                ((_, spec),) = item.items()
                tables.add(spec.get("TableName"))
            for table in tables or {"?"}:
                share = _units(service, operation, _one_table(body, table))
                TABLE_UNITS.setdefault(str(table), Counter()).update(share)


def _one_table(body: dict[str, Any], table: str | None) -> dict[str, Any]:
    """The request restricted to ``table`` (a transaction's items on that table), as params."""
    if "TransactItems" in body:
        items = [
            i for i in body["TransactItems"] if next(iter(i.values())).get("TableName") == table
        ]
        body = {"TransactItems": items}
    return {"body": json.dumps(body).encode()}


def _dump(path: Path) -> None:
    with _LOCK:
        data = {
            "calls": dict(CALLS),
            "entries": dict(ENTRIES),
            "table_units": {t: dict(u) for t, u in TABLE_UNITS.items()},
        }
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    # moto resets boto3's default session when the local bus starts it, so every default
    # session, this one and each later one, gets the hook as it is made.
    original = boto3.setup_default_session

    def setup_with_hook(**kwargs: Any) -> None:
        original(**kwargs)
        boto3.DEFAULT_SESSION.events.register(  # type: ignore[union-attr]
            "before-call", _before_call, unique_id="capacity-before-call"
        )

    boto3.setup_default_session = setup_with_hook
    setup_with_hook()
    process.reset()

    def stop(*_: Any) -> None:
        _dump(args.out)
        sys.stdout.flush()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR1, lambda *_: _dump(args.out))  # counts so far, keep serving
    from citizenbus import cli  # noqa: PLC0415 - after the hooks, so its clients carry them

    return cli.main(["serve", "--host", "127.0.0.1", "--port", str(args.port)])


if __name__ == "__main__":
    sys.exit(main())

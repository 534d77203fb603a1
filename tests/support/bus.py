"""The local bus as tests see it: the sample events, the tables, a request's status."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from functions.domain.requests.store import RequestStore

EVENTS = Path(__file__).resolve().parents[2] / "events"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
STREETS = {"Authorization": "Bearer local-streets-key"}  # the streets agency's local API key


def load_event(name: str) -> dict[str, Any]:
    """A sample payload from ``events/`` (e.g. ``apigw/app_create_request.json``)."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def count_items(table: str) -> int:
    import boto3

    client = boto3.client("dynamodb")
    return int(client.scan(TableName=f"citizenbus-{table}", Select="COUNT")["Count"])


def nothing_stored() -> bool:
    return count_items("requests") == 0 and count_items("outbox") == 0


def move(reference: str, *steps: tuple[str, datetime], note: str | None = None) -> None:
    """Change a request's status the way the agency API does (``RequestStore.update``)."""
    store = RequestStore()
    for status, at in steps:
        record = store.get(reference)
        assert record is not None
        stamp = at.isoformat(timespec="seconds").replace("+00:00", "Z")
        entry = {"status": status, "at": stamp, "by": "agency:test"} | (
            {"note": note} if note else {}
        )
        store.update(
            reference, record["version"], {"status": status, "updated_at": stamp}, entry, None
        )


def function_clients(bus: Any, service: str) -> list[Any]:
    """``service``'s boto3 client of every function of ``bus`` (each builds its own, as each
    Lambda does), for a test that fakes AWS's answers to the functions."""
    from functions.platform import aws

    clients = []
    for name in bus.handlers:
        with bus.sandbox(name):
            clients.append(aws.client(service))
    return clients


def agency_sets(bus: Any, reference: str, *statuses: str, pump: bool = False) -> None:
    """The streets agency moves ``reference`` through ``statuses`` over its API (each 200);
    ``pump``: then deliver what that set off (notifications, questions)."""
    for status in statuses:
        response = bus.request(
            "POST",
            f"/agency/v1/requests/{reference}/status",
            headers=STREETS,
            json_body={"status": status},
        )
        assert response.status == 200, response.text
    if pump:
        bus.pump()

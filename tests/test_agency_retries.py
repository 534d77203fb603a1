"""Retries of the agency status route: an ``Idempotency-Key`` makes a retry change nothing."""

from __future__ import annotations

import json

import boto3

from citizenbus.local.runtime import LocalBus
from schemas.events import STATUS_CHANGED
from tests.support.tokens import KEYS
from tests.support.webhooks import file


def status_events(reference: str) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName="citizenbus-outbox")["Items"]
    events = [json.loads(i["event"]["S"]) for i in items]
    return [e for e in events if e["type"] == STATUS_CHANGED and e["subject"] == reference]


def history(bus: LocalBus, reference: str) -> list[dict]:
    response = bus.request("GET", f"/agency/v1/requests/{reference}", headers=KEYS["streets"])
    assert response.status == 200
    return list(response.json()["history"])


def post_status(bus: LocalBus, reference: str, body: dict, key: str | None) -> object:
    headers = dict(KEYS["streets"]) | ({"Idempotency-Key": key} if key is not None else {})
    return bus.request(
        "POST", f"/agency/v1/requests/{reference}/status", headers=headers, json_body=body
    )


def test_a_retried_status_update_answers_the_same_200_and_changes_nothing(bus: LocalBus) -> None:
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    body = {"status": "in_progress", "note": "Ett lag är på väg."}
    first = post_status(bus, reference, body, "upd-7f3a")
    assert first.status == 200, first.text
    again = post_status(bus, reference, body, "upd-7f3a")
    assert again.status == 200, again.text  # was 409: in_progress cannot go to in_progress
    assert again.json() == first.json()
    assert [h["status"] for h in history(bus, reference)] == ["received", "in_progress"]
    assert len(status_events(reference)) == 1
    # Without a key the same update is still a refused transition.
    assert post_status(bus, reference, body, None).status == 409


def test_the_same_key_with_another_change_is_422_and_changes_nothing(bus: LocalBus) -> None:
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    assert post_status(bus, reference, {"status": "in_progress"}, "k1").status == 200
    other = post_status(bus, reference, {"status": "resolved", "note": "Klart."}, "k1")
    assert other.status == 422, other.text
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert "in_progress" not in other.text  # the first answer is not echoed
    assert [h["status"] for h in history(bus, reference)] == ["received", "in_progress"]
    # A new key moves it on.
    assert post_status(bus, reference, {"status": "resolved"}, "k2").json()["status"] == "resolved"
    assert len(status_events(reference)) == 2


def test_the_same_key_on_another_request_is_422(bus: LocalBus) -> None:
    first = file(bus, "street-damage", {"address": "Storgatan 1"})
    second = file(bus, "street-damage", {"address": "Lillgatan 2"})
    assert post_status(bus, first, {"status": "in_progress"}, "k").status == 200
    assert post_status(bus, second, {"status": "in_progress"}, "k").status == 422
    assert [h["status"] for h in history(bus, second)] == ["received"]


def test_an_overlong_key_is_400_and_changes_nothing(bus: LocalBus) -> None:
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    response = post_status(bus, reference, {"status": "in_progress"}, "k" * 3000)
    assert response.status == 400, response.text
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert post_status(bus, reference, {"status": "in_progress"}, "k" * 128).status == 200
    assert [h["status"] for h in history(bus, reference)] == ["received", "in_progress"]

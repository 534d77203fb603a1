"""A poison entry in the outbox (a CloudEvent nobody can parse) fails alone: the stream's
on-failure queue keeps it, and requests filed after it still reach their agency."""

from __future__ import annotations

import json
import time

from citizenbus.local.runtime import LocalBus
from tests.support.tokens import auth

SUBMITTED = "org.citizenbus.request.submitted.v1"


def test_poison_outbox_entries_go_to_the_on_failure_queue_and_the_rest_flows(bus: LocalBus) -> None:
    import boto3

    ddb = boto3.client("dynamodb")
    expires = {"N": str(int(time.time()) + 3600)}
    for n, poison in enumerate(["not json", "[]", json.dumps({"id": "x", "type": SUBMITTED})]):
        ddb.put_item(
            TableName="citizenbus-outbox",
            Item={
                "id": {"S": f"poison-{n}"},
                "type": {"S": SUBMITTED},
                "subject": {"S": "0"},
                "event": {"S": poison},
                "expires_at": expires,
            },
        )
    filed = bus.request(
        "POST",
        "/app/v1/requests",
        headers=auth("after-poison"),
        json_body={"service_code": "street-damage", "attributes": {"address": "Storgatan 3"}},
    ).json()
    bus.pump()
    dlq = bus.queue_messages("citizenbus-outbox-dlq")
    assert len(dlq) == 3  # each poison entry, alone
    subjects = [m["detail"]["subject"] for m in bus.queue_messages("citizenbus-agency-streets")]
    assert filed["reference"] in subjects  # the real request still reached its agency

"""The outbox stream's on-failure queue: parked pointers, redriven onto the bus once."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from citizenbus import cli
from citizenbus.local.runtime import LocalBus
from citizenbus.local.server import make_server
from functions.domain.agencies.routing import agency_queue
from functions.platform import process
from functions.platform.bus import EventPublisher

OUTBOX_DLQ = "citizenbus-outbox-dlq"


class DownEvents:
    """An EventBridge client that throttles every PutEvents while ``down``."""

    def __init__(self) -> None:
        self.real = boto3.client("events")
        self.down = True

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self.down:
            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, "PutEvents")
        return self.real.put_events(Entries=Entries)


@pytest.fixture
def events(bus: LocalBus) -> DownEvents:
    client = DownEvents()
    process.inject(event_publisher=EventPublisher(client=client, sleep=lambda s: None))
    return client


def file(bus: LocalBus, service: str, address: str) -> str:
    body = {"address": address, "email": "a@example.se", "notify_by": "none"}
    response = bus.request("POST", f"/eservice/v1/forms/{service}", json_body=body)
    assert response.status == 201, response.text
    return str(response.json()["reference"])


def subjects(bus: LocalBus, agency: str) -> list[str]:
    return [m["detail"]["subject"] for m in bus.queue_messages(agency_queue(agency))]


def test_events_parked_while_eventbridge_was_down_are_redriven_and_delivered_once(
    bus: LocalBus, events: DownEvents
) -> None:
    waste = file(bus, "missed-waste-collection", "Sopvägen 1")
    street = file(bus, "street-damage", "Storgatan 1")
    bus.pump()
    assert subjects(bus, "waste") == [] and subjects(bus, "streets") == []
    parked = bus.queue_messages(OUTBOX_DLQ)
    assert len(parked) == 2
    for pointer in parked:  # what Lambda parks: a pointer into the stream, not the event
        info = pointer["DDBStreamBatchInfo"]
        assert info["streamArn"].startswith("arn:aws:dynamodb:") and info["shardId"]
        assert info["startSequenceNumber"] == info["endSequenceNumber"]
        assert "Sopvägen" not in json.dumps(pointer) and "Records" not in pointer

    events.down = False
    result = bus.invoke("redrive", {"outbox": True})
    assert result == {"outbox": {"parked": 2, "published": 2, "missing": 0, "left": 0}}
    bus.pump()
    assert subjects(bus, "waste") == [waste] and subjects(bus, "streets") == [street]
    assert bus.queue_messages(OUTBOX_DLQ) == []
    # Again: nothing parked, nothing sent twice.
    assert bus.invoke("redrive", {"outbox": True})["outbox"]["published"] == 0
    bus.pump()
    assert subjects(bus, "waste") == [waste] and subjects(bus, "streets") == [street]


def test_a_redrive_while_the_bus_is_still_down_keeps_the_pointer(
    bus: LocalBus, events: DownEvents
) -> None:
    reference = file(bus, "missed-waste-collection", "Sopvägen 1")
    bus.pump()
    assert len(bus.queue_messages(OUTBOX_DLQ)) == 1
    result = bus.invoke("redrive", {"outbox": True})
    assert result["outbox"] == {"parked": 0, "published": 0, "missing": 0, "left": 1}
    assert len(bus.queue_messages(OUTBOX_DLQ)) == 1  # still there, visible for the next try
    events.down = False
    assert bus.invoke("redrive", {"outbox": True})["outbox"]["published"] == 1
    bus.pump()
    assert subjects(bus, "waste") == [reference]


def test_when_the_stream_no_longer_holds_the_records_the_outbox_window_is_used(
    bus: LocalBus, events: DownEvents
) -> None:
    reference = file(bus, "missed-waste-collection", "Sopvägen 1")
    bus.pump()
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=OUTBOX_DLQ)["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    pointer = json.loads(message["Body"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # The same pointer after the stream's 24 hours: its shard is gone.
    pointer["DDBStreamBatchInfo"]["shardId"] = "shardId-00000000000000000000-gone0000"
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(pointer))
    events.down = False
    assert bus.invoke("redrive", {"outbox": True})["outbox"]["published"] == 1
    bus.pump()
    assert subjects(bus, "waste") == [reference]


def test_citizenbus_redrive_outbox_locally_and_against_aws(
    bus: LocalBus,
    events: DownEvents,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = file(bus, "missed-waste-collection", "Sopvägen 1")
    bus.pump()
    events.down = False
    monkeypatch.setenv("CITIZENBUS_OPERATOR_TOKEN", "operator-token-for-this-test")
    server = make_server(bus, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        assert cli.main(["redrive", "--outbox", "--local", url]) == 0
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert "1 parked batch(es) redriven, 1 event(s) published again" in capsys.readouterr().out
    # Without --local: the operator's AWS credentials (here: moto in this process).
    events.down = True
    second = file(bus, "missed-waste-collection", "Sopvägen 2")
    bus.pump()
    events.down = False
    assert cli.main(["redrive", "--outbox"]) == 0
    assert "1 event(s) published again" in capsys.readouterr().out
    bus.pump()
    assert sorted(subjects(bus, "waste")) == sorted([first, second])

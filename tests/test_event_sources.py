"""The local bus's event sources poll as Lambda's pollers do: an idle poll costs nothing (no
AWS call while a queue or a stream has nothing new), and nothing is left behind when there
is (a stream backlog larger than one read is read whole)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from citizenbus.local.runtime import (
    ROUTES_QUIET_S,
    STREAM_READ_LIMIT,
    LocalBus,
)
from functions.domain.agencies.routing import agency_queue
from functions.platform import aws
from functions.platform.settings import get_settings
from tests.support.webhooks import file


@pytest.fixture
def bus() -> Iterator[LocalBus]:
    with LocalBus() as running:
        yield running


def _counting(client: Any, operation: str) -> list[str]:
    calls: list[str] = []
    client.meta.events.register(
        f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}",
        lambda **_: calls.append(operation),
    )
    return calls


def test_a_stream_backlog_is_read_whole_and_an_idle_poll_makes_no_call(bus: LocalBus) -> None:
    state = next(s for s in bus.streams if "outbox" in s.arn)
    handled: list[str] = []
    bus.handlers[state.function] = lambda event, _: handled.extend(
        r["dynamodb"]["SequenceNumber"] for r in event["Records"]
    )
    table = get_settings().outbox_table
    ddb = aws.dynamodb()
    key = ddb.describe_table(TableName=table)["Table"]["KeySchema"][0]["AttributeName"]
    backlog = STREAM_READ_LIMIT + 30  # more than one GetRecords returns
    for start in range(0, backlog, 25):
        ddb.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {key: {"S": f"e{n}"}}}}
                    for n in range(start, min(start + 25, backlog))
                ]
            }
        )
    reads = _counting(bus._streams_client(), "GetRecords")
    while bus.pump_stream(state):
        pass
    assert len(handled) == len(set(handled)) == backlog  # every record, once
    assert len(reads) == 2
    for _ in range(5):  # idle: nothing new, no call
        assert bus.pump_stream(state) == 0
    assert len(reads) == 2
    ddb.put_item(TableName=table, Item={key: {"S": "one-more"}})
    assert bus.pump_stream(state) == 1
    assert len(handled) == backlog + 1


def test_an_idle_queue_poll_makes_no_call_and_a_message_is_delivered(bus: LocalBus) -> None:
    queue, function = bus.queue_consumers[0]
    delivered: list[str] = []
    bus.handlers[function] = lambda event, _: delivered.extend(r["body"] for r in event["Records"])
    sqs = aws.sqs()
    receives = _counting(sqs, "ReceiveMessage")
    for _ in range(5):
        assert bus.pump_queue(queue, function) == 0
    assert receives == []
    sqs.send_message(QueueUrl=bus.queue_urls[queue], MessageBody="hello")
    assert bus.pump_queue(queue, function) == 1
    assert delivered == ["hello"] and len(receives) == 1
    assert bus.pump_queue(queue, function) == 0  # deleted once handled
    assert len(receives) == 1


def test_records_that_arrive_while_the_workers_run_are_published_in_batches(
    bus: LocalBus,
) -> None:
    """The serving loops (one per event source; a stream read four times a second while
    nothing waits, at once while a backlog does): filings made while they run all reach
    their agency's queue, the outbox publisher invoked with batches, not once per filing."""
    stop = threading.Event()
    workers = threading.Thread(target=bus.run_workers, args=(stop,), daemon=True)
    workers.start()
    try:
        references = [
            file(bus, "street-damage", {"address": f"Storgatan {n + 1}"}) for n in range(30)
        ]
        deadline = time.monotonic() + 30
        queued: set[str] = set()
        while time.monotonic() < deadline and not queued.issuperset(references):
            queued = {
                str(m.get("detail", {}).get("subject"))
                for m in bus.queue_messages(agency_queue("streets"))
            }
            time.sleep(0.1)
    finally:
        stop.set()
        workers.join(10)
    assert queued.issuperset(references)
    assert bus.invocations["outbox_publisher"] < len(references) / 2


def test_a_queue_consumer_defers_to_busy_routes_and_is_never_starved(bus: LocalBus) -> None:
    """One interpreter runs every function here: while routes answer, a queue consumer with
    messages waiting holds back (as a poller's batching window), for at most
    QUEUE_DEFER_MAX_S; a burst that never pauses still sees its messages delivered."""
    queue, function = bus.queue_consumers[0]
    delivered: list[str] = []
    bus.handlers[function] = lambda event, _: delivered.extend(r["body"] for r in event["Records"])
    health = next(c.function for c in bus.routes if c.path == "/healthz")

    def slow_health(event: Any, context: Any) -> dict[str, Any]:
        time.sleep(0.05)
        return {"statusCode": 200, "body": "ok"}

    bus.handlers[health] = slow_health
    stop, routes_done = threading.Event(), threading.Event()
    workers = threading.Thread(target=bus.run_workers, args=(stop, 0.05), daemon=True)

    def busy_routes() -> None:  # back-to-back requests: the routes are never quiet
        while not routes_done.is_set():
            bus.request("GET", "/healthz")

    route_thread = threading.Thread(target=busy_routes, daemon=True)
    sqs = aws.sqs()
    workers.start()
    try:
        route_thread.start()
        time.sleep(0.2)
        sqs.send_message(QueueUrl=bus.queue_urls[queue], MessageBody="during the burst")
        deadline = time.monotonic() + 15  # the cap is 1 s; 15 s for a loaded machine
        while not delivered and time.monotonic() < deadline:
            time.sleep(0.02)
        during = list(delivered)
        busy_throughout = route_thread.is_alive()
        deferred = bus.deferred
        routes_done.set()
        route_thread.join(5)
        time.sleep(ROUTES_QUIET_S * 2)
        sqs.send_message(QueueUrl=bus.queue_urls[queue], MessageBody="when quiet")
        deadline = time.monotonic() + 10
        while len(delivered) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        routes_done.set()
        stop.set()
        workers.join(10)
    assert delivered == ["during the burst", "when quiet"]
    assert during == ["during the burst"] and busy_throughout  # while busy: not starved
    assert deferred >= 1  # ... after holding back for them
    assert bus.deferred == deferred  # with the routes quiet, no holding back

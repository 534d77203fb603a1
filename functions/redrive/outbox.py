"""The outbox stream's on-failure queue: what the publisher could not put on the bus.

After its retries, Lambda parks a failed stream batch in ``citizenbus-outbox-dlq`` as an
on-failure record: not the events, but a pointer (``DDBStreamBatchInfo``: the stream, its
shard, the first and last sequence numbers, when the records arrived). :func:`redrive_outbox`
reads each pointer, finds the outbox entries it names (the stream's records in that range
name their keys; when the stream no longer holds them, after 24 hours, the entries written
in that time window, which the outbox keeps for two days) and publishes their CloudEvents
through the publisher again. A pointer leaves the queue only once its events are on the bus;
an event published twice is the same CloudEvent (same ``id``), which consumers drop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.domain.requests.store import RequestStore
from functions.platform import aws, process
from functions.platform.bus import EventPublisher
from functions.platform.observability import logger

OUTBOX_DLQ = "citizenbus-outbox-dlq"
_SLACK_SECONDS = 2  # around the arrival times of the window fallback


@process.once
def publisher() -> EventPublisher:
    """The bus's publisher, as the outbox publisher's (tests inject one)."""
    injected: EventPublisher | None = process.injected("event_publisher")
    return injected or EventPublisher()


@dataclass
class OutboxRedrive:
    """What one redrive did (counts only)."""

    parked: int = 0  # on-failure records handled and deleted
    published: int = 0  # events put on the bus again
    missing: int = 0  # stream records whose outbox entry is gone (expired or erased)
    left: int = 0  # on-failure records left on the queue (the bus still refused)

    def as_dict(self) -> dict[str, int]:
        return {
            "parked": self.parked,
            "published": self.published,
            "missing": self.missing,
            "left": self.left,
        }


def batch_info(body: str) -> dict[str, Any]:
    """The ``DDBStreamBatchInfo`` of an on-failure record; ValueError for anything else."""
    record = json.loads(body)
    info = record.get("DDBStreamBatchInfo") if isinstance(record, dict) else None
    if not isinstance(info, dict) or not {"streamArn", "shardId"} <= info.keys():
        raise ValueError("not a DynamoDB stream on-failure record")
    return info


def stream_keys(info: dict[str, Any]) -> list[str] | None:
    """The outbox entry ids of the stream records in the pointer's range, in order; None when
    the stream no longer has them (trimmed after 24 hours, or the shard is gone)."""
    client = aws.client("dynamodbstreams")  # on the regional endpoint (aws.py says why)
    start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = client.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(start),
        )["ShardIterator"]
        ids: list[str] = []
        while iterator:
            response = client.get_records(ShardIterator=iterator, Limit=1000)
            records = response.get("Records", [])
            for record in records:
                sequence = int(record["dynamodb"]["SequenceNumber"])
                if sequence > end:
                    return ids
                if record.get("eventName") == "INSERT" and sequence >= start:
                    ids.append(record["dynamodb"]["Keys"]["id"]["S"])
            if not records:
                break
            iterator = response.get("NextShardIterator")
    except Exception as exc:  # TrimmedDataAccess, ExpiredIterator, ResourceNotFound
        logger.warning("stream records gone, reading the outbox window", extra={"why": str(exc)})
        return None
    return ids or None


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def events_of(
    info: dict[str, Any], store: RequestStore, result: OutboxRedrive
) -> list[dict[str, Any]]:
    """The CloudEvents of the outbox entries an on-failure record points at."""
    ids = stream_keys(info)
    if ids is not None:
        events = []
        for entry_id in ids:
            event = store.outbox_event(entry_id)
            if event is None:
                result.missing += 1
            else:
                events.append(event)
        return events
    first = _epoch(info["approximateArrivalOfFirstRecord"]) - _SLACK_SECONDS
    last = _epoch(info["approximateArrivalOfLastRecord"]) + _SLACK_SECONDS
    events = store.outbox_events_written_between(first, last)
    if not events:  # expired (the outbox keeps two days) or erased
        result.missing += int(info.get("batchSize") or 1)
    return events


def redrive_outbox(limit: int | None = None) -> OutboxRedrive:
    """Publish again the events of the parked stream batches (at most ``limit`` records)."""
    sqs = aws.sqs()
    url = sqs.get_queue_url(QueueName=OUTBOX_DLQ)["QueueUrl"]
    store = RequestStore()
    result = OutboxRedrive()
    kept: list[str] = []  # receipt handles of what stays, visible again when done
    while limit is None or result.parked + result.left < limit:
        batch = 10 if limit is None else min(10, limit - result.parked - result.left)
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=batch, VisibilityTimeout=120
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                info = batch_info(message["Body"])
            except ValueError:
                result.left += 1  # not ours to interpret: leave it for a person
                kept.append(message["ReceiptHandle"])
                continue
            events = events_of(info, store, result)
            failed = publisher().publish(events) if events else []
            if failed:
                result.left += 1  # the bus still refuses: the pointer stays for next time
                kept.append(message["ReceiptHandle"])
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            result.parked += 1
            result.published += len(events)
    for handle in kept:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    logger.info("outbox redriven", extra=result.as_dict())
    return result

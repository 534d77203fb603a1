"""The outbox publisher: DynamoDB stream of the outbox table → the EventBridge bus.

Each new outbox entry holds one CloudEvent, written in the same transaction as the change it
announces. Entries go to EventBridge in batches of up to 10; an entry that still fails after
retries is reported as a batch item failure, so Lambda retries from it (and after the last
retry the stream's on-failure destination keeps it). Nothing is dropped.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.platform import process
from functions.platform.bus import EventPublisher
from functions.platform.observability import logger, metrics


@process.once
def publisher() -> EventPublisher:
    """The bus's publisher (tests inject one whose EventBridge misbehaves)."""
    injected: EventPublisher | None = process.injected("event_publisher")
    return injected or EventPublisher()


def publish_records(records: list[dict[str, Any]], events_publisher: EventPublisher) -> list[str]:
    """Publish the CloudEvents of new outbox entries; the sequence numbers that failed."""
    inserted: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    broken: list[str] = []
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        try:
            event = json.loads(record["dynamodb"]["NewImage"]["event"]["S"])
            entry = events_publisher.entry(event)  # the CloudEvents SDK refuses a malformed one
        except Exception as exc:  # anything unparseable: json, KeyError, CloudEvents errors
            # A poison entry fails alone (Lambda retries from it, then the stream's on-failure
            # queue keeps it) instead of crashing the batch.
            logger.error("malformed outbox entry", extra={"why": type(exc).__name__})
            broken.append(record["dynamodb"]["SequenceNumber"])
            continue
        inserted.append(record)
        events.append(event)
        entries.append(entry)
    failed = events_publisher.publish_entries(entries)
    if failed:
        logger.warning(
            "events not published, will retry",
            extra={"event_ids": [events[i]["id"] for i in failed]},
        )
    metrics.add_metric(name="EventsPublished", unit="Count", value=len(events) - len(failed))
    return broken + [inserted[i]["dynamodb"]["SequenceNumber"] for i in failed]


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = publish_records(event.get("Records", []), publisher())
    # For streams Lambda resumes from the lowest failed sequence number, so report them all.
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}

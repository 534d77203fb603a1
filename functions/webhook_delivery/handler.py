"""Webhook delivery worker: an agency's delivery queue → its subscribed HTTPS endpoint.

One SQS consumer per agency queue (``citizenbus-delivery-{agency}``), partial batch
responses: a record that could not be delivered is reported as a failure and comes back
after a backoff that grows with its receive count (set here with ChangeMessageVisibility);
after the queue's maxReceiveCount it goes to the delivery DLQ. See
:mod:`functions.domain.agencies.webhooks`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.agencies.webhooks import Deliverer, DeliveryFailed, backoff_seconds, event_of
from functions.platform import aws
from functions.platform.observability import logger, metrics

# A batch of nothing but poison is reported item by item too, not raised as one error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _queue_url(arn: str) -> str:
    _, _, _, _, account, name = arn.split(":", 5)
    return aws.sqs().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def record_handler(record: SQSRecord, deliverer: Deliverer) -> str:
    try:
        event = event_of(record.body)
    except ValueError:
        # Not an event at all: retrying cannot help, the DLQ keeps it for a human.
        logger.error("undeliverable message", extra={"message_id": record.message_id})
        raise
    try:
        outcome = deliverer.deliver(event)
    except DeliveryFailed as exc:
        receives = int(record.attributes.approximate_receive_count or 1)
        delay = backoff_seconds(receives)
        aws.sqs().change_message_visibility(
            QueueUrl=_queue_url(record.event_source_arn),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=delay,
        )
        logger.warning(
            "webhook delivery failed, will retry",
            extra={
                "event_id": event["id"],
                "receives": receives,
                "retry_in": delay,
                "why": str(exc),
            },
        )
        metrics.add_metric(name="WebhookDeliveryFailed", unit="Count", value=1)
        raise
    if outcome.status == "delivered":
        metrics.add_metric(name="WebhooksDelivered", unit="Count", value=1)
    logger.info("webhook", extra={"event_id": event["id"], "outcome": outcome.status})
    return outcome.status


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deliverer = Deliverer()  # a fresh subscription cache per batch
    response = process_partial_response(
        event=event,
        record_handler=partial(record_handler, deliverer=deliverer),
        processor=processor,
        context=context,
    )
    return dict(response)

"""The notifier: request events from the bus → SMS, e-mail or push to the citizen.

An SQS consumer (its queue is subscribed to ``submitted``, ``status_changed`` and
``sla_breached`` on the bus). Powertools' batch processor reports partial batch failures, so
one failing message is retried alone; Powertools idempotency keyed on the CloudEvent id makes
a duplicate event send nothing more. The same queue carries e-mail fallbacks for SMS that a
delivery receipt says failed, and the status look-up's requests for a one-time code.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.notifier.service import deliver, fallback, idempotency, send_code, send_link_code
from functions.platform.observability import logger, metrics

# A batch of nothing but poison is reported item by item too, not raised as one error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def handle_record(record: SQSRecord) -> dict[str, Any]:
    body = json.loads(record.body)
    if "fallback" in body:
        return fallback(str(body["fallback"]))
    if "lookup_code" in body:
        code = body["lookup_code"]
        return send_code(str(code["reference"]), str(code["via"]), str(code["language"]))
    if "link_code" in body:
        link = body["link_code"]
        return send_link_code(str(link["citizen"]), str(link["kind"]), str(link["language"]))
    event = body.get("detail", body)  # EventBridge envelope → CloudEvent
    return deliver(event)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    response = process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
    return dict(response)

"""Deadlines: flag open requests that ran past their SLA, once each.

Runs on a schedule (EventBridge Scheduler in AWS, a timer on the local bus). Each overdue
request gets ``sla_breached_at`` and one ``sla_breached`` event in the same transaction,
conditional on not being flagged before, so running the scheduler again changes nothing.
The notifier tells the citizen; the agency gets the event on its queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.requests.events import request_event
from functions.domain.requests.store import RequestStore
from functions.platform.observability import logger, metrics
from schemas.event_types import SLA_BREACHED
from schemas.lifecycle import CLOSED, Status


def check_deadlines(store: RequestStore, now: datetime) -> dict[str, int]:
    at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    flagged = closed = 0
    for record in store.overdue(at):
        if Status(record["status"]) in CLOSED:
            store.clear_due(record["reference"])
            closed += 1
            continue
        event = request_event(SLA_BREACHED, record, at)
        if store.mark_breached(record["reference"], at, event):
            flagged += 1
            logger.info(
                "request late",
                extra={"reference": record["reference"], "expected_at": record["expected_at"]},
            )
    return {"flagged": flagged, "closed": closed}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    result = check_deadlines(RequestStore(), datetime.now(UTC))
    metrics.add_metric(name="SlaBreachesFlagged", unit="Count", value=result["flagged"])
    return result

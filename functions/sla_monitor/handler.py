"""Deadlines: flag open requests that ran past their SLA, once each.

Runs on a schedule (EventBridge Scheduler in AWS, a timer on the local bus). Each overdue
request gets ``sla_breached_at`` and one ``sla_breached`` event in the same transaction,
conditional on not being flagged before, so running the scheduler again changes nothing.
The notifier tells the citizen; the agency gets the event on its queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.requests.lifecycle import flag_late_requests
from functions.platform import clock
from functions.platform.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    result = flag_late_requests(clock.now())
    metrics.add_metric(name="SlaBreachesFlagged", unit="Count", value=result["flagged"])
    return result

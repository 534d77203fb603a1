"""Scheduled export: the open-data aggregates written to the open-data S3 bucket.

Runs on the schedule in ``functions/topology.py``; writes ``open-data/v1/stats.json`` and
``stats.csv`` (the latest) plus a dated copy under ``open-data/v1/daily/YYYY-MM-DD/``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.open_data import stats
from functions.platform.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    aggregates = stats.current()
    written = stats.publish(aggregates)
    withheld = sum(1 for r in aggregates.rows if r.suppressed)
    metrics.add_metric(name="OpenDataCells", unit="Count", value=len(aggregates.rows))
    logger.info("open data exported", extra={"files": written, "withheld_cells": withheld})
    return {"files": written, "rows": len(aggregates.rows), "withheld": withheld}

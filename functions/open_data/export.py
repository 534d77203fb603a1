"""Scheduled export: the open-data aggregates and the bulk files, written to the open-data bucket.

Runs on the schedule in ``functions/topology.py`` (one at a time: reserved concurrency 1);
reads the window once (``functions/domain/open_data/export.py``).
Writes ``open-data/v1/stats.json`` and ``stats.csv`` (the latest) plus a dated copy under
``open-data/v1/daily/YYYY-MM-DD/``, and brings the bulk files under ``open-data/v1/bulk/`` up
to date (``functions/domain/open_data/bulk.py``: only the days not final yet are read).
An event with ``"rebuild": true`` rereads every day of the window (after a backfill).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.open_data import export
from functions.platform.catalog import get_catalog
from functions.platform.observability import NAMESPACE, logger, metrics
from schemas.open_data import Stats

GAUGES = (  # the journey row's figure → (metric, unit, scale)
    ("within_sla_share", "JourneyWithinSlaShare", MetricUnit.Percent, 100),
    ("reopen_rate", "JourneyReopenRate", MetricUnit.Percent, 100),
    ("followers", "JourneyFollowers", MetricUnit.Count, 1),
    ("satisfaction_mean", "JourneySatisfaction", MetricUnit.NoUnit, 1),
)


def gauges(aggregates: Stats) -> int:
    """The current month's published journey figures as CloudWatch metrics (EMF), by service
    and channel (withheld rows are not sent: the dashboard shows what open data shows)."""
    if is_metrics_disabled() or not aggregates.journey:
        return 0
    month = max(r.month for r in aggregates.journey)
    sent = 0
    for row in aggregates.journey:
        if row.month != month or row.suppressed or row.channel == "all":
            continue
        for field, name, unit, scale in GAUGES:
            value = getattr(row, field)
            if value is None:
                continue
            with single_metric(
                name=name, unit=unit, value=value * scale, namespace=NAMESPACE
            ) as metric:
                metric.add_dimension(name="service", value=row.service_code)
                metric.add_dimension(name="channel", value=row.channel)
            sent += 1
    return sent


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    done = export.run(
        get_catalog(),
        rebuild=event.get("rebuild") is True,
        time_left_ms=context.get_remaining_time_in_millis,
    )
    aggregates, written, run = done.aggregates, done.files, done.bulk
    withheld = sum(1 for r in aggregates.rows if r.suppressed)
    metrics.add_metric(name="OpenDataCells", unit="Count", value=len(aggregates.rows))
    gauges(aggregates)
    metrics.add_metric(name="OpenDataBulkFilesWritten", unit="Count", value=len(run.written))
    logger.info(
        "open data exported",
        extra={
            "files": written,
            "withheld_cells": withheld,
            "bulk_days_read": run.days_read,
            "bulk_records_read": run.records_read,
            "bulk_files_written": len(run.written),
            "bulk_unfinished": run.unfinished,
        },
    )
    return {
        "files": written,
        "rows": len(aggregates.rows),
        "withheld": withheld,
        "bulk": {
            "days_read": run.days_read,
            "records_read": run.records_read,
            "written": run.written,
            "unfinished": run.unfinished,
        },
    }

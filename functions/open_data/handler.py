"""Open data: ``GET /open-data/v1/stats.{json,csv}``, ``journey.csv``, the bulk files at
``/open-data/v1/bulk/{file}`` and the ``/open-data/`` page.

All serve the last scheduled export (``open_data_export``) from the open-data bucket, so the
API, the page and the files in S3 always show the same numbers.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.open_data import bulk, stats
from functions.open_data import downloads
from functions.open_data.page import render
from functions.platform.catalog import get_catalog
from functions.platform.http import install_error_handlers
from functions.platform.observability import logger, metrics

app = APIGatewayHttpResolver()
install_error_handlers(app)

HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"}


@app.exception_handler(stats.NotExported)
def not_exported(exc: stats.NotExported) -> Response[str]:
    """Too many requests to aggregate on a read, and no export yet (after a backfill)."""
    message = "the first open-data export is being made; try again in a minute"
    body = json.dumps({"errors": [{"field": "open-data", "message": message}]})
    headers = {"Retry-After": str(stats.RETRY_AFTER_S), "Cache-Control": "no-store"}
    return Response(503, "application/json", body, headers)


@app.get("/open-data/v1/stats.json")
def stats_json() -> Response[str]:
    body = stats.to_json(stats.latest())
    return Response(200, "application/json; charset=utf-8", body, HEADERS)


@app.get("/open-data/v1/stats.csv")
def stats_csv() -> Response[str]:
    body = stats.to_csv(stats.latest())
    headers = HEADERS | {"Content-Disposition": 'inline; filename="stats.csv"'}
    return Response(200, "text/csv; charset=utf-8", body, headers)


@app.get("/open-data/v1/journey.csv")
def journey_csv() -> Response[str]:
    body = stats.journey_csv(stats.latest())
    headers = HEADERS | {"Content-Disposition": 'inline; filename="journey.csv"'}
    return Response(200, "text/csv; charset=utf-8", body, headers)


@app.get("/open-data/v1/bulk/<name>")
def bulk_file(name: str) -> Response[str]:
    return downloads.serve(name)


@app.get("/open-data")
@app.get("/open-data/")
def page() -> Response[str]:
    html = render(stats.latest(), get_catalog(), bulk.manifest(), bulk.summary())
    return Response(200, "text/html; charset=utf-8", html, HEADERS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

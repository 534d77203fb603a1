"""Redrive: send what waits in the agencies' webhook delivery DLQs to their delivery queues.

Invoke with ``{"agency": "streets"}`` for one agency, ``{}`` for all, and optionally
``"limit"`` (messages per agency). ``citizenbus redrive`` does the same from a terminal.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.agencies.webhooks import redrive
from functions.platform.catalog import get_catalog
from functions.platform.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    agencies = get_catalog().agency_ids()
    wanted = event.get("agency")
    if wanted is not None:
        if wanted not in agencies:
            return {"errors": [{"field": "agency", "message": "no such agency"}]}
        agencies = [wanted]
    limit = event.get("limit")
    moved = redrive(list(agencies), int(limit) if limit else None)
    logger.info("redriven", extra={"moved": moved})
    return {"moved": moved}

"""Redrive: send what waits in the agencies' webhook delivery DLQs to their delivery queues,
or (``{"outbox": true}``) publish again what the outbox stream parked in its on-failure queue.

Invoke with ``{"agency": "streets"}`` for one agency, ``{}`` for all, and optionally
``"limit"`` (messages per agency, or on-failure records). ``citizenbus redrive`` (``--outbox``)
does the same from a terminal.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.agencies.webhooks import redrive
from functions.platform.catalog import get_catalog
from functions.platform.observability import logger
from functions.redrive.outbox import redrive_outbox


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    limit = event.get("limit")
    if event.get("outbox"):
        return {"outbox": redrive_outbox(int(limit) if limit else None).as_dict()}
    agencies = get_catalog().agency_ids()
    wanted = event.get("agency")
    if wanted is not None:
        if wanted not in agencies:
            return {"errors": [{"field": "agency", "message": "no such agency"}]}
        agencies = [wanted]
    moved = redrive(list(agencies), int(limit) if limit else None)
    logger.info("redriven", extra={"moved": moved})
    return {"moved": moved}

"""Erasure: remove one citizen's personal data, and only theirs.

The rules are in :mod:`functions.domain.citizens.erasure`.

Invoke with ``{"phone": "+4670…"}``, ``{"email": "…"}`` or ``{"citizen": "cit_…"}`` (one or
more), and ``"dry_run": true`` to count first and change nothing. Answers counts only,
``{"erased": {"citizens", "requests", "contacts_removed", "citizen_items", "dedup_items",
"outbox_items", "dry_run"}}``, or ``{"errors": [...]}`` when nobody is named. ``citizenbus
erase`` does the same from a terminal. Idempotent: a second run finds nothing more to remove.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.citizens.erasure import InvalidSubject, erase
from functions.platform.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    named = {k: event.get(k) for k in ("phone", "email", "citizen")}
    if any(v is not None and not isinstance(v, str) for v in named.values()):
        return {"errors": [{"field": "subject", "message": "phone, email and citizen are text"}]}
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        return {"errors": [{"field": "dry_run", "message": "dry_run is true or false"}]}
    try:
        done = erase(
            phone=named["phone"], email=named["email"], citizen=named["citizen"], dry_run=dry_run
        )
    except InvalidSubject as exc:
        return {"errors": [{"field": "subject", "message": str(exc)}]}
    counts = done.as_dict()
    # counts only: the log holds no personal data
    logger.info("erasure counted" if dry_run else "citizen erased", extra=counts)
    return {"erased": counts}

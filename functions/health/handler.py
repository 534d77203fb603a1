"""``GET /healthz``: the bus answers."""

from __future__ import annotations

from typing import Any

from functions.platform import gc_init


@gc_init.after_first_call  # the collector, held back during init, back after the first call
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"status": "ok"}',
    }

"""One Logger and one Metrics object for every function (Powertools).

``logger.inject_lambda_context``, which every handler that logs is decorated with, also ends
the cold start's pause of the garbage collector after the first invocation
(functions/platform/gc_init.py).
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from functions.platform import gc_init

SERVICE = "citizenbus"
NAMESPACE = "CitizenBus"


class _Logger(Logger):
    """Powertools' Logger whose handler decorator also resumes garbage collection."""

    def inject_lambda_context(
        self,
        lambda_handler: Any = None,
        log_event: bool | None = None,
        correlation_id_path: str | None = None,
        clear_state: bool | None = False,
        flush_buffer_on_uncaught_error: bool = False,
    ) -> Any:
        options: dict[str, Any] = {
            "log_event": log_event,
            "correlation_id_path": correlation_id_path,
            "clear_state": clear_state,
            "flush_buffer_on_uncaught_error": flush_buffer_on_uncaught_error,
        }
        if lambda_handler is None:  # used as @logger.inject_lambda_context(...)
            return functools.partial(self.inject_lambda_context, **options)
        return gc_init.after_first_call(super().inject_lambda_context(lambda_handler, **options))


logger = _Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

"""Garbage collection held back while a function initializes, back after its first call.

A cold start allocates a few hundred thousand objects (boto3's and Powertools' modules,
botocore's service models, pydantic's validators) and frees few of them, so the collector's
default thresholds (700, 10, 10) run ~100 young collections and several older ones over
objects that all live as long as the process: 23-35 ms of a 270-340 ms cold start, measured
with ``gc.callbacks`` (docs/performance.md, "part D").

:func:`pause` (called by ``functions/__init__.py``, before any handler module imports a
library) raises the thresholds so that init collects (almost) nothing; it does not disable the
collector, so a process that never invokes a handler (a test, a CLI) still collects, only
later. :func:`resume` (after the first invocation; :func:`after_first_call`, which
``functions.platform.observability.logger.inject_lambda_context`` applies to every handler)
moves what init built into the permanent generation (``gc.freeze``: later full collections
no longer walk the modules) and puts the thresholds back, so a warm process collects as
before. Only ``gc`` (no functools, no typing): the health check imports it too.
"""

from __future__ import annotations

import gc

from functions.platform.datastack import with_room

TYPE_CHECKING = False  # not typing's: health imports no typing at all
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# Young collections every 200,000 net allocations instead of 700 (a cold start makes fewer),
# the older generations as rarely: init runs without collecting, a process that never calls
# a handler still collects (bounded, not a leak).
INIT_THRESHOLD = (200_000, 100, 100)

_state: dict[str, tuple[int, int, int] | bool | None] = {"saved": None, "done": False}


def pause() -> None:
    """Hold collection back for the rest of init (once per process; no-op after resume)."""
    if _state["saved"] is None and not _state["done"]:
        _state["saved"] = gc.get_threshold()
        gc.set_threshold(*INIT_THRESHOLD)


def resume() -> None:
    """Freeze what init built and put the collector's thresholds back (once; idempotent)."""
    if _state["done"]:
        return
    _state["done"] = True
    saved = _state["saved"]
    if isinstance(saved, tuple):
        _state["saved"] = None
        gc.freeze()
        gc.set_threshold(*saved)


def _first_call(handler: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    try:
        return handler(*args, **kwargs)
    finally:
        resume()


# The first invocation (the cold start: clients created, validators built, modules loaded on
# first use) runs in a frame-stack chunk of its own (functions/platform/datastack.py). A warm
# one does not: mapping that chunk costs ~8 µs a call, a health check's whole budget four times.
with_room(_first_call)


def after_first_call[F: Callable[..., Any]](handler: F) -> F:
    """Wrap a Lambda handler so that :func:`resume` runs once its first invocation ends."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _state["done"]:
            return handler(*args, **kwargs)
        return _first_call(handler, args, kwargs)

    # functools.wraps by hand: health imports no functools
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, name, getattr(handler, name, None))
    wrapper.__wrapped__ = handler  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]

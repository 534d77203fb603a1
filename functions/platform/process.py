"""What a process keeps between invocations: built once, forgotten in one call.

A Lambda execution environment keeps module state between warm invocations: AWS clients, the
settings, the catalog, Twilio's client, the idempotency wrappers. Each of them is built by a
function decorated with :func:`once`, so :func:`reset` (called by the local bus and tests when
they swap AWS out) forgets every one of them, including those added later, without anyone
having to know their names. What a process is handed rather than builds (the local bus's
recording Twilio HTTP client) is :func:`inject`-ed; nothing local ships in a Lambda asset.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

_built: list[Any] = []  # the cached builders, each with cache_clear()
_injected: dict[str, Any] = {}


def once[**P, T](build: Callable[P, T]) -> Callable[P, T]:
    """Build the value on first use and keep it for the life of the process (per arguments)."""
    cached = cache(build)
    _built.append(cached)
    return cached  # type: ignore[return-value]


def inject(**values: Any) -> None:
    """Hand the process a dependency by name; whatever was built from the old one is forgotten."""
    _injected.update(values)
    _forget_built()


def injected(name: str) -> Any:
    """An injected dependency, or None (in AWS nothing is injected)."""
    return _injected.get(name)


def reset() -> None:
    """Forget everything built and injected: the next invocation starts as a cold one."""
    _injected.clear()
    _forget_built()


def _forget_built() -> None:
    for cached in _built:
        cached.cache_clear()

"""What a process keeps between invocations: built once, forgotten in one call.

A Lambda execution environment keeps module state between warm invocations: AWS clients, the
settings, the catalog, Twilio's client, the idempotency wrappers. Each of them is built by a
function decorated with :func:`once`, so :func:`reset` (called by the local bus and tests when
they swap AWS out) forgets every one of them, including those added later, without anyone
having to know their names. What a process is handed rather than builds (the local bus's
recording Twilio HTTP client) is :func:`inject`-ed; nothing local ships in a Lambda asset.

On the local bus every function runs in one Python process, so each gets a *sandbox*: while
:func:`sandbox` names a function (a context variable, so threads and tasks each see their own),
what :func:`once` builds is kept per function, as each Lambda's own execution environment
would keep it. Outside any sandbox (in AWS, and the local bus's test harness) there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, wraps
from typing import Any

_built: list[dict[str, Any]] = []  # per builder: sandbox → its cached builder (cache_clear())
_injected: dict[str, Any] = {}
_current: ContextVar[str] = ContextVar("citizenbus_sandbox", default="")


def once[**P, T](build: Callable[P, T]) -> Callable[P, T]:
    """Build the value on first use and keep it for the life of the process (per arguments,
    and per sandbox on the local bus)."""
    caches: dict[str, Any] = {}
    _built.append(caches)

    @wraps(build)
    def cached(*args: P.args, **kwargs: P.kwargs) -> T:
        name = _current.get()
        built = caches.get(name)
        if built is None:
            built = caches.setdefault(name, cache(build))
        return built(*args, **kwargs)  # type: ignore[no-any-return]

    cached.cache_clear = caches.clear  # type: ignore[attr-defined]
    return cached


def current() -> str:
    """The function whose sandbox this code runs in; "" outside any (AWS, a test harness)."""
    return _current.get()


@contextmanager
def sandbox(function: str) -> Iterator[None]:
    """Run the block as ``function``: its own built state (local bus only)."""
    token = _current.set(function)
    try:
        yield
    finally:
        _current.reset(token)


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


def forget(function: str) -> None:
    """Forget what one sandbox built (its next invocation is a cold start); the others keep
    theirs. The local bus's :meth:`~citizenbus.local.runtime.LocalBus.rewire`."""
    for caches in _built:
        caches.pop(function, None)


def _forget_built() -> None:
    for caches in _built:
        caches.clear()

"""Each function's own environment on the local bus, although they share one Python process.

In AWS each function runs in an execution environment of its own, with only the variables its
template gives it. Locally every handler runs in this process, so ``os.environ`` is replaced
(while a bus runs) by :class:`SandboxEnviron`: inside :func:`functions.platform.process.sandbox`
(the local bus's ``invoke``) it is the current function's own mapping; outside (the test
harness, ``citizenbus serve`` itself) it is the process's real environment. The current
function is a context variable, so a future bus that runs functions in threads keeps each
one's view. Everything built from the environment (settings, clients) is per sandbox too
(``process.once``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from typing import Any

from functions.platform import process


class SandboxEnviron(MutableMapping[str, str]):
    """``os.environ`` as the current sandbox sees it."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real
        self.sandboxes: dict[str, dict[str, str]] = {}

    def _view(self) -> MutableMapping[str, str]:
        name = process.current()
        if not name:
            return self.real
        view = self.sandboxes.get(name)
        if view is None:  # a sandbox the bus has no environment for: nothing, not everything
            view = self.sandboxes[name] = {}
        return view

    def __getitem__(self, key: str) -> str:
        return self._view()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._view()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._view()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._view()))

    def __len__(self) -> int:
        return len(self._view())

    def copy(self) -> dict[str, str]:
        return dict(self._view())

    def __getattr__(self, name: str) -> Any:  # encodekey/decodekey etc. of os._Environ
        return getattr(self.real, name)


_installed: list[SandboxEnviron] = []


def install() -> SandboxEnviron:
    """Put the sandboxed view in place of ``os.environ`` (nested buses share one)."""
    if not isinstance(os.environ, SandboxEnviron):
        os.environ = SandboxEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003 - a view, nothing is cleared
    view = os.environ
    assert isinstance(view, SandboxEnviron)
    _installed.append(view)
    return view


def uninstall() -> None:
    """Undo the matching :func:`install`; the last one puts the real environment back."""
    if not _installed:
        return
    view = _installed.pop()
    if not _installed and os.environ is view:
        os.environ = view.real  # type: ignore[assignment]  # noqa: B003 - the real one back

"""botocore event hooks on the default boto3 session: count, record and replay AWS calls.

``before-call`` sees every API call a client makes. Counting attributes each call to the
function being invoked (calls made by the local bus itself, such as polling a queue, belong
to no function). Recording keeps each operation's parsed answer; replaying hands that
answer back from ``before-call``, which is how botocore's Stubber answers too: the request is
validated and serialized as usual, and nothing is signed, sent or parsed.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import Any, Literal

import boto3

from functions.platform import process

Mode = Literal["count", "record", "replay"]


class _Http:
    status_code = 200
    headers: dict[str, str] = {}  # noqa: RUF012 - read only
    content = b""


class AwsCalls:
    """Installed once on the default session; then ``mode`` and ``function`` steer it."""

    def __init__(self) -> None:
        self.mode: Mode = "count"
        self.function: str | None = None
        self.calls: list[tuple[str | None, str, str, dict[str, Any]]] = []
        self.recorded: dict[tuple[str, str], dict[str, Any]] = {}
        self.unanswered: Counter[str] = Counter()

    def install(self) -> None:
        """Register on the default boto3 session and drop cached clients so new ones see it."""
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("before-call", self._before_call, unique_id="bench-before-call")
        events.register("after-call", self._after_call, unique_id="bench-after-call")
        process.reset()

    def _key(self, model: Any) -> tuple[str, str]:
        return (model.service_model.service_name, model.name)

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        service, operation = self._key(model)
        if self.mode == "count":
            self.calls.append((self.function, service, operation, params))
            return None
        if self.mode == "replay":
            answer = self.recorded.get((service, operation))
            if answer is None:
                self.unanswered[f"{service}.{operation}"] += 1
                return None
            return _Http(), answer
        return None

    def _after_call(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if self.mode == "record":
            answer = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
            if "Error" not in parsed:
                self.recorded[self._key(model)] = answer

    @contextmanager
    def invoking(self, function: str) -> Any:
        previous, self.function = self.function, function
        try:
            yield
        finally:
            self.function = previous

    def by_function(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {}
        for function, service, operation, _ in self.calls:
            if function is not None:
                counts.setdefault(function, Counter())[f"{service}.{operation}"] += 1
        return counts

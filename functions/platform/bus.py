"""Publishing CloudEvents to the EventBridge bus: batches of 10, every entry checked.

PutEvents can fail for some entries while accepting others (throttling, internal errors).
Each entry's ``ErrorCode`` is checked; only the failed entries are sent again, with jittered
exponential backoff. What still fails is returned to the caller, who must not drop it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from functions.platform import aws
from functions.platform.settings import get_settings
from schemas.event_types import BUS_SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024


class EventPublisher:
    def __init__(
        self,
        client: EventBridgeClient | None = None,
        bus_name: str | None = None,
        attempts: int = 4,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self.bus_name = bus_name or get_settings().event_bus
        self.attempts = attempts
        self.base_delay = base_delay
        self.sleep = sleep

    @property
    def client(self) -> EventBridgeClient:
        return self._client or aws.events()

    def entry(self, event: dict[str, Any]) -> dict[str, Any]:
        """The EventBridge entry for a CloudEvent: the CloudEvent is the ``detail``.

        The event goes through the CloudEvents SDK, which checks its attributes and writes
        the structured JSON form, so a malformed event fails here and not at a consumer.
        """
        from cloudevents.core.formats.json import JSONFormat  # noqa: PLC0415 - cloudevents on the first publish only

        structured = JSONFormat()
        detail = structured.write(structured.read(None, json.dumps(event))).decode()
        return {
            "Source": BUS_SOURCE,
            "DetailType": event["type"],
            "Detail": detail,
            "EventBusName": self.bus_name,
            "Resources": [],
        }

    def publish(self, events: Sequence[dict[str, Any]]) -> list[int]:
        """Publish ``events``; returns the indexes of those that could not be published."""
        return self.publish_entries([self.entry(e) for e in events])

    def publish_entries(self, entries: list[dict[str, Any]]) -> list[int]:
        """Publish entries made by :meth:`entry` (a caller that checked its events with it
        need not make them twice); returns the indexes of those not published."""
        failed: list[int] = []
        for batch in _batches(list(range(len(entries))), entries):
            failed += self._publish_batch(batch, entries)
        return failed

    def _publish_batch(self, indexes: list[int], entries: list[dict[str, Any]]) -> list[int]:
        pending = indexes
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(random.uniform(0, self.base_delay * 2**attempt))  # noqa: S311
            try:
                response = self.client.put_events(Entries=[entries[i] for i in pending])  # type: ignore[misc]
            except Exception as exc:  # the whole call failed (throttled, network): retry all
                if attempt == self.attempts - 1 or not _retryable(exc):
                    return pending
                continue
            results = response.get("Entries", [])
            pending = [i for i, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            if not pending:
                return []
        return pending


def _retryable(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code not in {"AccessDeniedException", "ValidationException", "ResourceNotFoundException"}


def _batches(indexes: list[int], entries: list[dict[str, Any]]) -> list[list[int]]:
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i in indexes:
        entry_size = len(entries[i]["Detail"]) + len(entries[i]["DetailType"]) + len(BUS_SOURCE)
        if current and (len(current) == MAX_ENTRIES or size + entry_size > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(i)
        size += entry_size
    if current:
        batches.append(current)
    return batches

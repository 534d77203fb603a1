"""The request lifecycle: statuses and the transitions the bus allows.

``received`` → ``in_progress`` ⇄ ``needs_info`` → ``resolved`` | ``rejected``; then
``resolved`` → ``reopened`` (by the citizen only, within the service's reopen window) →
``in_progress`` ⇄ ``needs_info`` → ``resolved`` | ``rejected`` again.
``resolved`` and ``rejected`` are closed (Open311 ``closed``); every other status (``reopened``
too) is open.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a citizen's request is in its lifecycle."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    NEEDS_INFO = "needs_info"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    REOPENED = "reopened"

    @property
    def closed(self) -> bool:
        return self in CLOSED

    @property
    def open311(self) -> str:
        """The Open311 GeoReport v2 status: ``open`` or ``closed``."""
        return "closed" if self.closed else "open"


CLOSED = frozenset({Status.RESOLVED, Status.REJECTED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.IN_PROGRESS}),
    Status.IN_PROGRESS: frozenset({Status.NEEDS_INFO, Status.RESOLVED, Status.REJECTED}),
    Status.NEEDS_INFO: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.REJECTED}),
    Status.RESOLVED: frozenset({Status.REOPENED}),
    Status.REJECTED: frozenset(),
    Status.REOPENED: frozenset({Status.IN_PROGRESS}),
}

# Transitions only the citizen makes (an agency asking for them gets 409).
BY_CITIZEN_ONLY = frozenset({Status.REOPENED})


def can_transition(current: Status, new: Status) -> bool:
    """True when the lifecycle allows moving from ``current`` to ``new``."""
    return new in TRANSITIONS[current]

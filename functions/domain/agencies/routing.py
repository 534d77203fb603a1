"""Routing on the bus: one EventBridge rule per agency, built from the service catalog.

The local bus and the CDK app both build their rules here, so a catalog service is routed
the same way on one machine and in AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.event_types import BUS_SOURCE, EVENT_TYPES

if TYPE_CHECKING:  # the functions that deliver and redrive import this, not pydantic
    from schemas.catalog import Catalog


def agency_queue(agency: str) -> str:
    return f"citizenbus-agency-{agency}"


def agency_dlq(agency: str) -> str:
    return f"citizenbus-agency-{agency}-dlq"


def agency_rule_name(agency: str) -> str:
    return f"citizenbus-to-{agency}"


def function_queue(function: str) -> str:
    """The queue a bus rule fills for a function that subscribes to events (e.g. the notifier)."""
    return f"citizenbus-{function.replace('_', '-')}"


def function_dlq(function: str) -> str:
    return function_queue(function) + "-dlq"


def subscription_pattern(event_types: tuple[str, ...]) -> dict[str, Any]:
    return {"source": [BUS_SOURCE], "detail-type": list(event_types)}


def agency_pattern(catalog: Catalog, agency: str) -> dict[str, Any]:
    """The event pattern of an agency's rule: request events of the services it owns."""
    codes = sorted(s.service_code for s in catalog.services if s.agency == agency)
    return {
        "source": [BUS_SOURCE],
        "detail-type": list(EVENT_TYPES),
        "detail": {"data": {"agency": [agency], "service_code": codes}},
    }


# Receives of a webhook delivery (each with a few in-invocation POSTs) before the DLQ keeps it.
DELIVERY_MAX_RECEIVES = 8


def delivery_queue(agency: str) -> str:
    """The queue feeding the agency's webhook deliveries (a second target of its rule)."""
    return f"citizenbus-delivery-{agency}"


def delivery_dlq(agency: str) -> str:
    return f"citizenbus-delivery-{agency}-dlq"

"""The names on the bus, without the models: cheap to import for functions that only publish."""

from __future__ import annotations

from typing import Literal

EVENT_SOURCE = "/citizenbus/requests"
BUS_SOURCE = "org.citizenbus"

SUBMITTED = "org.citizenbus.request.submitted.v1"
STATUS_CHANGED = "org.citizenbus.request.status_changed.v1"
SLA_BREACHED = "org.citizenbus.request.sla_breached.v1"
SUPPORTED = "org.citizenbus.request.supported.v1"  # "me too": data.supporters counts them
EVENT_TYPES = (SUBMITTED, STATUS_CHANGED, SLA_BREACHED, SUPPORTED)
EventType = Literal[
    "org.citizenbus.request.submitted.v1",
    "org.citizenbus.request.status_changed.v1",
    "org.citizenbus.request.sla_breached.v1",
    "org.citizenbus.request.supported.v1",
]

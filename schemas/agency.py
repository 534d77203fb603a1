"""Bodies of the agency API (its handler validates with them; the OpenAPI document shows them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.events import EventType
from schemas.lifecycle import Status
from schemas.request import Text


class SubscriptionBody(BaseModel):
    """``PUT /agency/v1/subscriptions``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)]
    types: list[EventType] = Field(min_length=1, max_length=10)


class StatusUpdateBody(BaseModel):
    """``POST /agency/v1/requests/{reference}/status``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    status: Status
    note: Text | None = None
    expected_at: datetime | None = Field(
        None, description="When the agency now expects to close it."
    )

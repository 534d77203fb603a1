"""The CloudEvents that travel on the bus.

Events are CloudEvents 1.0 in structured JSON mode; the same JSON object is the ``detail`` of
the EventBridge event. They are thin: no phone number, e-mail, personal code or identity
number. An agency fetches contact details through the agency API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.channels import Channel
from schemas.event_types import (
    BUS_SOURCE,
    EVENT_SOURCE,
    EVENT_TYPES,
    SLA_BREACHED,
    STATUS_CHANGED,
    SUBMITTED,
    SUPPORTED,
    EventType,
)
from schemas.lifecycle import Status


class RequestEventData(BaseModel):
    """``data`` of every request event."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    reference: str = Field(pattern=r"^[0-9]{8,12}$")
    service_code: str
    agency: str
    channel: Channel
    status: Status
    previous_status: Status | None = None
    attributes: dict[str, str] = Field(
        description="Only the attributes the catalog does not mark personal."
    )
    submitted_at: datetime
    expected_at: datetime | None = None
    citizen: str = Field(pattern=r"^cit_[a-z0-9]+$", description="Pseudonymous citizen id.")
    note: str | None = None
    supporters: int | None = Field(
        None,
        ge=1,
        description="`supported` events: how many other citizens reported the same thing "
        "(followers of the request), counting this one.",
    )


class RequestEvent(BaseModel):
    """A CloudEvents 1.0 envelope (structured mode) around :class:`RequestEventData`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str = EVENT_SOURCE
    type: EventType
    subject: str = Field(description="The request reference.")
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    # The CloudEvents data-classification extension (cloudevents/spec
    # cloudevents/extensions/data-classification.md): ``dataclassification`` is REQUIRED when
    # the extension is used; ``dataregulation`` names the regulation that gives
    # ``datacategory`` its meaning. The data is pseudonymised (a keyed-hash citizen id, no
    # contact details, no personal attributes): internal, GDPR, non-sensitive.
    dataclassification: Literal["public", "internal", "confidential", "restricted"] = Field(
        description="Data-classification extension: the classification level of the payload."
    )
    dataregulation: str = Field(
        "GDPR",
        pattern=r"^ *[A-Za-z0-9-]+ *(, *[A-Za-z0-9-]+ *)*$",
        description="Data-classification extension: comma-delimited data protection regulations.",
    )
    datacategory: Literal["non-sensitive", "standard", "sensitive", "special-category"] = Field(
        "non-sensitive",
        description="Data-classification extension: the GDPR personal data category.",
    )
    data: RequestEventData


__all__ = [
    "BUS_SOURCE",
    "EVENT_SOURCE",
    "EVENT_TYPES",
    "SLA_BREACHED",
    "STATUS_CHANGED",
    "SUBMITTED",
    "SUPPORTED",
    "EventType",
    "RequestEvent",
    "RequestEventData",
]

"""The citizen API's documents beyond a filing: the app's preferences, contacts, reopen and
verdict bodies, a request as its citizen sees it, and every 4xx answer's errors.

Apart from ``schemas.request`` (the filing itself: ``Contact``, ``NewRequest``,
``AppRequestBody``), so that a function that only files (sms, voice, the e-service, Open311)
creates none of these nine model classes at its cold start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.catalog import Language
from schemas.channels import Channel
from schemas.lifecycle import Status
from schemas.request import MAX_TEXT, Clean, EmailStr, NotifyBy, Reference, Text


class Preferences(BaseModel):
    """``PUT /app/v1/me/preferences``: how and whether the citizen wants status notifications."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    notify_by: NotifyBy
    language: Language = "sv"
    consent: bool = Field(description="Opt in (true) or out (false) of notifications.")
    phone: Annotated[Clean, StringConstraints(max_length=32)] | None = None
    email: EmailStr | None = None
    push_endpoint: (
        Annotated[
            str,
            StringConstraints(
                pattern=r"^arn:aws:sns:[a-z0-9-]+:[0-9]{12}:endpoint/.+$", max_length=512
            ),
        ]
        | None
    ) = Field(None, description="The SNS platform endpoint ARN of the citizen's device.")


class ContactBody(BaseModel):
    """``POST /app/v1/me/contacts``: the phone or e-mail to link (a code is sent there)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    phone: Annotated[Clean, StringConstraints(max_length=32)] | None = None
    email: EmailStr | None = None


class ContactCode(ContactBody):
    """``POST /app/v1/me/contacts/verify``: the contact and the 6-digit code sent to it."""

    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class StatusChange(BaseModel):
    """One entry of a request's status history."""

    model_config = ConfigDict(defer_build=True)

    status: Status
    at: datetime
    by: str = Field(description="Who made the change: 'citizen', 'system' or 'agency:<id>'.")
    note: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None = None


class RequestView(BaseModel):
    """A request as its citizen sees it (app API, e-service receipt)."""

    model_config = ConfigDict(defer_build=True)

    reference: Reference
    service_code: str
    agency: str
    channel: Channel
    status: Status
    attributes: dict[str, str]
    submitted_at: datetime
    updated_at: datetime
    expected_at: datetime = Field(description="When the service's SLA expects it closed.")
    history: list[StatusChange]
    verdict_asked: bool | None = Field(
        None,
        description="Extension (issue 18): a satisfaction question about this request waits "
        "for the caller's answer (POST …/verdict).",
    )


class ReopenBody(BaseModel):
    """``POST /app/v1/requests/{reference}/reopen``: why the request is not done."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    note: Text | None = None


class VerdictBody(BaseModel):
    """``POST /app/v1/requests/{reference}/verdict`` (an extension): the citizen's verdict."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    score: int = Field(ge=1, le=5, description="1 (not at all satisfied) to 5 (very).")


class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True)

    field: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx JSON answer: ``{"errors": [{"field": …, "message": …}]}``."""

    model_config = ConfigDict(defer_build=True)

    errors: list[FieldError]

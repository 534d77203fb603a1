"""What citizens file and what the bus stores and returns about it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from schemas import text
from schemas.catalog import Language
from schemas.text import CONTROL_MESSAGE, has_control

NotifyBy = Literal["sms", "email", "push", "none"]

MAX_TEXT = text.MAX_TEXT  # defined beside the text rules, which import no pydantic
MAX_IDEMPOTENCY_KEY = 128  # the contract: an Idempotency-Key of at most 128 characters


def _newlines(value: object) -> object:
    """CRLF and lone CR (a browser's textarea line ends) as the newline they mean."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def _no_control(value: str) -> str:
    if has_control(value):
        raise PydanticCustomError("control_character", CONTROL_MESSAGE)
    return value


# Free text as a citizen or agency may file it: line ends normalised, no control characters.
Clean = Annotated[str, BeforeValidator(_newlines), AfterValidator(_no_control)]


def _email(value: str) -> str:
    """An e-mail address, checked and normalised (email-validator is imported only when used)."""
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 - email-validator on the first address only

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc


EmailStr = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
Reference = Annotated[str, StringConstraints(pattern=r"^[0-9]{8,12}$")]
AttributeValue = Annotated[Clean, StringConstraints(max_length=MAX_TEXT)]
AttributeCode = Annotated[Clean, StringConstraints(max_length=64)]
Text = Annotated[Clean, StringConstraints(max_length=MAX_TEXT)]


class Contact(BaseModel):
    """How to reach the citizen. Personal data: stored, never on the bus or in open data."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    phone: Annotated[Clean, StringConstraints(max_length=32)] | None = Field(
        None, description="E.164 after normalisation, e.g. +46701234567."
    )
    email: EmailStr | None = None


class NewRequest(BaseModel):
    """A request as a channel hands it to intake, after the channel parsed its own format."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    service_code: Annotated[Clean, StringConstraints(min_length=1, max_length=64)]
    attributes: dict[AttributeCode, AttributeValue] = Field(default_factory=dict, max_length=50)
    description: Text | None = None
    contact: Contact | None = None
    notify_by: NotifyBy | None = Field(
        None, description="Channel for status notifications; default: the channel filed on."
    )
    language: Language = "sv"
    consent: bool = Field(False, description="Explicit opt-in to status notifications.")
    new: bool = Field(
        False,
        description="File it as a new request even if it repeats an open one (me too).",
    )


class AppRequestBody(BaseModel):
    """``POST /app/v1/requests`` body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    service_code: Annotated[Clean, StringConstraints(min_length=1, max_length=64)]
    attributes: dict[AttributeCode, AttributeValue] = Field(default_factory=dict, max_length=50)
    description: Text | None = None
    language: Language | None = None
    notify_by: NotifyBy | None = None
    new: bool = Field(
        False,
        description="File it as a new request even if it repeats an open one (me too).",
    )

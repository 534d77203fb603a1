"""Open311 GeoReport v2 documents as citizenbus serves them, and the open-data aggregates.

These models are the wire contract of ``/open311/v2/`` and ``/open-data/v1/``: the handlers
build their answers through them and ``schemas/openapi.py`` turns them into the OpenAPI
document (``schemas/openapi-open311.json``). Codes and ids are strings, as the spec asks.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The open-data aggregates live in schemas/open_data.py (the export and the stats route create
# only those models); named here too, as the open-data routes' part of this contract.
from schemas.open_data import JourneyRow, Stats, StatsRow

SPEC_URL = "https://wiki.open311.org/GeoReport_v2"
Format = Literal["json", "xml"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Endpoint(_Model):
    specification: str = SPEC_URL
    url: str
    changeset: str
    type: Literal["production", "test"] = "production"
    formats: list[str] = Field(default_factory=lambda: ["application/json", "text/xml"])


class Discovery(_Model):
    """``GET discovery``: where the endpoint is and what it speaks."""

    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(_Model):
    """One entry of ``GET services``."""

    service_code: str
    service_name: str
    description: str
    metadata: bool = Field(
        description="True when the service has attributes (see services/{code})."
    )
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: str = Field(description="The SMS keywords of the service, comma-separated.")
    group: str


class AttributeValue(_Model):
    key: str
    name: str


class Attribute(_Model):
    variable: bool = True
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue] = Field(default_factory=list)


class ServiceDefinition(_Model):
    """``GET services/{service_code}``: the attributes a POST must carry."""

    service_code: str
    attributes: list[Attribute]


class ServiceRequest(_Model):
    """One request as open data: no personal data, the location no finer than the street."""

    service_request_id: str = Field(description="The citizenbus reference (digits, Luhn).")
    status: Literal["open", "closed"]
    status_notes: str | None = None
    service_name: str
    service_code: str
    description: str | None = Field(
        None, description="Published only for services that allow it, scrubbed of personal data."
    )
    agency_responsible: str
    service_notice: str | None = None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str
    address: str | None = Field(None, description="The street only: no number or apartment.")
    address_id: str | None = None
    zipcode: str | None = None
    media_url: str | None = None
    supporters: int = Field(
        0,
        description="Extension (me too): how many other citizens reported the same thing at the "
        "same place while it was open, and follow it.",
    )


class PostedRequest(_Model):
    """The answer to ``POST requests``."""

    service_request_id: str
    token: str = Field(description="Also answers tokens/{token}.")
    service_notice: str | None = None
    account_id: str | None = None


class Token(_Model):
    """The answer to ``GET tokens/{token}``."""

    service_request_id: str
    token: str


class Error(_Model):
    code: int = Field(description="The HTTP status.")
    description: str


__all__ = [
    "SPEC_URL",
    "Attribute",
    "AttributeValue",
    "Discovery",
    "Endpoint",
    "Error",
    "Format",
    "JourneyRow",
    "PostedRequest",
    "Service",
    "ServiceDefinition",
    "ServiceRequest",
    "Stats",
    "StatsRow",
    "Token",
]

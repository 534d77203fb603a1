"""Open311 GeoReport v2 documents as citizenbus serves them, and the open-data aggregates.

These models are the wire contract of ``/open311/v2/`` and ``/open-data/v1/``: the handlers
build their answers through them and ``schemas/openapi.py`` turns them into the OpenAPI
document (``schemas/openapi-open311.json``). Codes and ids are strings, as the spec asks.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.lifecycle import Status

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


class StatsRow(_Model):
    """One cell of the aggregates: requests submitted on one day, per service, channel, status."""

    date: str = Field(description="UTC day the requests were submitted (YYYY-MM-DD).")
    service_code: str
    channel: Literal["sms", "voice", "app", "eservice", "open311"]
    status: Status = Field(description="The requests' current status.")
    count: int | None = Field(description="Requests in the cell; null when suppressed.")
    median_resolution_hours: float | None = Field(
        description="Median hours from submission to closing (closed statuses only)."
    )
    p90_resolution_hours: float | None = Field(
        description="90th percentile of hours from submission to closing."
    )
    sla_breach_rate: float | None = Field(
        description="Share of the cell's requests closed after, or still open past, the SLA."
    )
    suppressed: bool = Field(description="True: fewer requests than the threshold, withheld.")


class JourneyRow(_Model):
    """Journey KPIs of the requests submitted in one month, per service and channel
    (``channel = "all"``: every channel together). Null when withheld or not measurable."""

    month: str = Field(description="UTC month the requests were submitted (YYYY-MM).")
    service_code: str
    channel: Literal["sms", "voice", "app", "eservice", "open311", "all"]
    requests: int | None = Field(None, description="Requests submitted; null when suppressed.")
    median_first_response_hours: float | None = Field(
        None, description="Median hours from submission to the first status change."
    )
    p90_first_response_hours: float | None = None
    median_resolution_hours: float | None = Field(
        None, description="Median hours from submission to the first close."
    )
    p90_resolution_hours: float | None = None
    within_sla_share: float | None = Field(
        None,
        description="Of the requests closed or past their expected date, the share closed by it.",
    )
    reopen_rate: float | None = Field(
        None, description="Of the requests ever resolved, the share a citizen reopened."
    )
    followers: int | None = Field(
        None, description="Citizens who reported the same thing and follow (me too)."
    )
    satisfaction_mean: float | None = Field(
        None, description="Mean verdict (1–5); null when fewer than the threshold answered."
    )
    satisfaction_answers: int | None = Field(
        None, description="Verdicts given; null when fewer than the threshold."
    )
    suppressed: bool = Field(description="True: fewer requests than the threshold, withheld.")


class Stats(_Model):
    """``GET /open-data/v1/stats.json``: the same rows as ``stats.csv``, and the journey KPIs
    (the same rows as ``journey.csv``)."""

    generated_at: str
    start_date: str
    end_date: str
    suppression_threshold: int
    rows: list[StatsRow]
    journey: list[JourneyRow] = Field(
        default_factory=list, description="Journey KPIs per month, service and channel."
    )

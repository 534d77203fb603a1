"""The open-data aggregates: ``GET /open-data/v1/stats.json`` and its CSV twins.

Part of the wire contract of ``/open-data/v1/`` (``schemas/openapi.py`` documents them with the
Open311 documents; ``schemas.open311`` names them too). A module of their own so that the
scheduled export and the stats route create only these three models at import, not the
Open311 documents (each pydantic model class costs its creation even with ``defer_build``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.lifecycle import Status


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


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

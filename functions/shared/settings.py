"""Configuration, parsed once per process from the environment into one model."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Everything a function reads from its environment. Names are the env variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    requests_table: str = Field("citizenbus-requests", alias="REQUESTS_TABLE")
    outbox_table: str = Field("citizenbus-outbox", alias="OUTBOX_TABLE")
    idempotency_table: str = Field("citizenbus-idempotency", alias="IDEMPOTENCY_TABLE")
    event_bus: str = Field("citizenbus", alias="EVENT_BUS_NAME")
    catalog_path: str | None = Field(None, alias="CATALOG_PATH")
    pseudonym_key: str = Field(
        "local-pseudonym-key-change-me",
        alias="PSEUDONYM_KEY",
        description="HMAC key for pseudonymous citizen ids (Secrets Manager in AWS).",
    )
    max_body_bytes: int = Field(16_384, alias="MAX_BODY_BYTES")
    dedup_ttl_days: int = Field(7, alias="DEDUP_TTL_DAYS")
    local: bool = Field(False, alias="CITIZENBUS_LOCAL")
    open311_keys: str = Field(
        "",
        alias="CITIZENBUS_OPEN311_KEYS",
        description="Comma-separated api_key values accepted by Open311 POST requests.",
    )
    open_data_bucket: str = Field("citizenbus-open-data", alias="OPEN_DATA_BUCKET")
    open_data_suppression: int = Field(
        5, alias="OPEN_DATA_SUPPRESSION", ge=1, description="Aggregate cells below are withheld."
    )
    open_data_days: int = Field(
        365, alias="OPEN_DATA_DAYS", gt=0, description="Days of requests the aggregates cover."
    )

    @property
    def open311_api_keys(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.open311_keys.split(",") if k.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))

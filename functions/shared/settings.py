"""Configuration, parsed once per process from the environment into one model."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

LOCAL_TWILIO_AUTH_TOKEN = "local-twilio-auth-token-dev-only"  # noqa: S105 - documented local default


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
    notifier_queue_url: str | None = Field(None, alias="NOTIFIER_QUEUE_URL")
    twilio_account_sid: str = Field(
        "AC00000000000000000000000000000000", alias="TWILIO_ACCOUNT_SID"
    )
    twilio_from_number: str = Field("+46766860000", alias="TWILIO_FROM_NUMBER")
    twilio_messaging_service_sid: str | None = Field(None, alias="TWILIO_MESSAGING_SERVICE_SID")
    twilio_api_base: str | None = Field(
        None, alias="TWILIO_API_BASE", description="Send Twilio API calls here (a mock) instead."
    )
    email_from: str = Field("noreply@citizenbus.example", alias="EMAIL_FROM")
    # Agencies (issue 4): bearer keys, subscriptions, audit, webhook delivery.
    agency_keys: str = Field(
        "",
        alias="CITIZENBUS_AGENCY_KEYS",
        description="agency=key,agency=key (local); in AWS the keys come from Secrets Manager.",
    )
    agency_keys_secret: str | None = Field(
        None,
        alias="AGENCY_KEYS_SECRET_ARN",
        description='Secrets Manager secret holding {"agency": "key", ...}.',
    )
    subscriptions_table: str = Field("citizenbus-subscriptions", alias="SUBSCRIPTIONS_TABLE")
    agency_audit_table: str = Field("citizenbus-agency_audit", alias="AGENCY_AUDIT_TABLE")
    webhook_timeout_seconds: float = Field(5.0, alias="WEBHOOK_TIMEOUT_SECONDS")
    webhook_attempts: int = Field(
        3, alias="WEBHOOK_ATTEMPTS", description="POSTs per receive before backing off."
    )
    webhook_attempt_delay_seconds: float = Field(
        0.5, alias="WEBHOOK_ATTEMPT_DELAY_SECONDS", description="First in-invocation backoff."
    )
    webhook_backoff_seconds: int = Field(
        30, alias="WEBHOOK_BACKOFF_SECONDS", description="Visibility backoff after 1 receive."
    )
    webhook_backoff_max_seconds: int = Field(3600, alias="WEBHOOK_BACKOFF_MAX_SECONDS")
    citizens_table: str = Field("citizenbus-citizens", alias="CITIZENS_TABLE")
    twilio_auth_token: str = Field(
        LOCAL_TWILIO_AUTH_TOKEN,
        alias="TWILIO_AUTH_TOKEN",
        description="Validates X-Twilio-Signature; the default is refused outside the local bus.",
    )
    public_url: str | None = Field(
        None,
        alias="CITIZENBUS_PUBLIC_URL",
        description="The base URL Twilio signs (scheme, host, any stage or base path).",
    )
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

"""Configuration, parsed once per process from the environment into one model.

A frozen dataclass rather than a pydantic model: every function reads its settings at cold
start, and this keeps pydantic's import cost off the functions that need no validation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from functions.platform import process

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def Field(
    default: Any,
    *,
    alias: str,
    description: str = "",
    ge: float | None = None,
    gt: float | None = None,
) -> Any:
    """A setting: its default, the environment variable it is read from, and its bounds."""
    return field(
        default=default, metadata={"env": alias, "description": description, "ge": ge, "gt": gt}
    )


def _convert(name: str, kind: str, raw: str) -> Any:
    optional = kind.endswith("| None")
    base = kind.removesuffix("| None").strip()
    if optional and raw == "":
        return None
    try:
        if base == "bool":
            if raw.strip().lower() not in _TRUE | _FALSE:
                raise ValueError(raw)
            return raw.strip().lower() in _TRUE
        if base == "int":
            return int(raw)
        if base == "float":
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name}: {raw!r} is not a valid {base}") from exc
    return raw


LOCAL_TWILIO_AUTH_TOKEN = "local-twilio-auth-token-dev-only"  # noqa: S105 - documented local default
LOCAL_PSEUDONYM_KEY = "local-pseudonym-key-change-me"
# The local bus's defaults, refused outside it (functions/platform/secrets.py)
LOCAL_DEFAULTS = {
    "twilio_auth_token": LOCAL_TWILIO_AUTH_TOKEN,
    "pseudonym_key": LOCAL_PSEUDONYM_KEY,
    "open311_keys": "",
    "agency_keys": "",
}


# No generated __repr__ (it would print the local secrets' values wherever a Settings is
# shown: a log line, a traceback with locals), no __eq__/__hash__ (nothing compares two) and
# no generated 70-parameter __init__ (the one below reads the fields): building those cost
# ~1.1 ms of CPU at every cold start, ~0.3 ms is left.
@dataclass(frozen=True, eq=False, repr=False, init=False)
class Settings:
    """Everything a function reads from its environment (each field names its variable)."""

    def __init__(self, **values: Any) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, values.pop(f.name, f.default))
        if values:
            raise TypeError(f"no such settings: {', '.join(sorted(values))}")

    requests_table: str = Field("citizenbus-requests", alias="REQUESTS_TABLE")
    outbox_table: str = Field("citizenbus-outbox", alias="OUTBOX_TABLE")
    idempotency_table: str = Field("citizenbus-idempotency", alias="IDEMPOTENCY_TABLE")
    event_bus: str = Field("citizenbus", alias="EVENT_BUS_NAME")
    catalog_path: str | None = Field(None, alias="CATALOG_PATH")
    languages_path: str | None = Field(
        None,
        alias="LANGUAGES_PATH",
        description="A folder of language packs (default: functions/platform/languages).",
    )
    pseudonym_key: str = Field(
        LOCAL_PSEUDONYM_KEY,
        alias="PSEUDONYM_KEY",
        description="HMAC key of citizen ids; local bus only (in AWS: PSEUDONYM_KEY_SECRET_ARN).",
    )
    pseudonym_key_secret: str | None = Field(
        None, alias="PSEUDONYM_KEY_SECRET_ARN", description="Secrets Manager: the pseudonym key."
    )
    twilio_auth_token_secret: str | None = Field(
        None, alias="TWILIO_AUTH_TOKEN_SECRET_ARN", description="Secrets Manager: Twilio's token."
    )
    open311_keys_secret: str | None = Field(
        None, alias="OPEN311_KEYS_SECRET_ARN", description="Secrets Manager: the Open311 keys."
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
    email_from: str = Field("noreply@citizenbus.example", alias="EMAIL_FROM")
    # Agencies (issue 4): bearer keys, subscriptions, audit, webhook delivery.
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
    webhook_secrets_key: str = Field(
        "alias/citizenbus-webhook-secrets",
        alias="WEBHOOK_SECRETS_KEY_ID",
        description="The KMS key that encrypts webhook signing secrets (its ARN in AWS).",
    )
    citizens_table: str = Field("citizenbus-citizens", alias="CITIZENS_TABLE")
    verdicts_table: str = Field("citizenbus-verdicts", alias="VERDICTS_TABLE")
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
    open_data_bucket: str = Field("citizenbus-open-data", alias="OPEN_DATA_BUCKET")
    open_data_suppression: int = Field(
        5, alias="OPEN_DATA_SUPPRESSION", ge=1, description="Aggregate cells below are withheld."
    )
    open_data_days: int = Field(
        365, alias="OPEN_DATA_DAYS", gt=0, description="Days of requests the aggregates cover."
    )

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> Settings:
        values = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None:
                continue
            value = _convert(f.metadata["env"], str(f.type), raw)
            ge, gt = f.metadata["ge"], f.metadata["gt"]
            if value is not None and (
                (ge is not None and value < ge) or (gt is not None and value <= gt)
            ):
                raise ValueError(f"setting {f.metadata['env']}: {raw!r} is out of range")
            values[f.name] = value
        return cls(**values)


@process.once
def get_settings() -> Settings:
    return Settings.from_env(os.environ)

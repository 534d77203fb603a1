"""Secrets, read at run time from Secrets Manager; only their ARNs sit in the environment.

Each secret is named by a setting ending in ``_secret`` (``TWILIO_AUTH_TOKEN_SECRET_ARN``,
``OPEN311_KEYS_SECRET_ARN``, ``PSEUDONYM_KEY_SECRET_ARN``, ``AGENCY_KEYS_SECRET_ARN``) and read
with Powertools parameters, cached for :data:`MAX_AGE_SECONDS`: a rotated value is in use
everywhere within that time, without a redeploy. The local bus creates the same secrets in its
embedded AWS and sets their ARNs, so tests run this same path.

Without an ARN a value comes from its plain variable (``TWILIO_AUTH_TOKEN``,
``PSEUDONYM_KEY``) or its local default (the agency and Open311 keys have none: without their
secret nobody gets in), and only on the local bus (``CITIZENBUS_LOCAL``): elsewhere a missing
secret, or one that still holds a local default, is :class:`MissingSecret`, never the dev
default.
"""

from __future__ import annotations

from typing import Any, Literal

from functions.platform import aws, process
from functions.platform.settings import LOCAL_DEFAULTS, Settings, get_settings

MAX_AGE_SECONDS = 300  # how long a warm function keeps a value before reading it again

Name = Literal["twilio_auth_token", "open311_keys", "pseudonym_key", "agency_keys"]
# The setting with the value's ARN, per secret (the CDK app sets these; tests/infra checks it).
ARN_SETTINGS: dict[str, str] = {
    "twilio_auth_token": "twilio_auth_token_secret",
    "open311_keys": "open311_keys_secret",
    "pseudonym_key": "pseudonym_key_secret",
    "agency_keys": "agency_keys_secret",
}


class MissingSecret(RuntimeError):
    """A secret this function reads is not configured (or still holds a local default)."""


@process.once
def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import (  # noqa: PLC0415 - Powertools parameters (boto3) on the first secret read, not at import
        SecretsProvider,
    )

    return SecretsProvider(boto3_client=aws.client("secretsmanager"))


def arn_of(name: Name, settings: Settings | None = None) -> str | None:
    value: str | None = getattr(settings or get_settings(), ARN_SETTINGS[name])
    return value


def open311_api_keys() -> frozenset[str]:
    """The ``api_key`` values Open311 POST accepts (none when the secret is not configured)."""
    try:
        text = value("open311_keys")
    except MissingSecret:
        return frozenset()
    return frozenset(k.strip() for k in text.split(",") if k.strip())


def value(name: Name) -> str:
    """The secret's current value (cached for :data:`MAX_AGE_SECONDS`)."""
    settings = get_settings()
    arn = arn_of(name, settings)
    if arn:
        got = _provider().get(arn, max_age=MAX_AGE_SECONDS)
        text = got.decode() if isinstance(got, bytes) else str(got)
    else:
        text = str(getattr(settings, name, ""))  # the agency and Open311 keys: secrets only
    if not settings.local and (not text.strip() or text == LOCAL_DEFAULTS.get(name)):
        env = f"{name.upper()}_SECRET_ARN"
        raise MissingSecret(f"{env} names no secret with a real value; refusing the local default")
    return text

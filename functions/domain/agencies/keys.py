"""Who is calling: agency bearer keys, checked the same way by the authorizer and the API.

Keys are ``CITIZENBUS_AGENCY_KEYS`` (``agency=key,agency=key``) locally; in AWS they are a
Secrets Manager secret (``{"agency": "key"}``, named by ``AGENCY_KEYS_SECRET_ARN``), read at
most every few minutes. Only SHA-256 digests of the keys are kept in memory, and a presented
key is compared with every agency's digest in constant time, so neither the timing nor a
memory dump gives a key away.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from functools import lru_cache

from functions.platform import aws, process
from functions.platform.settings import get_settings

_SECRET_TTL_SECONDS = 300


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@lru_cache(maxsize=4)
def parse_keys(text: str) -> dict[str, bytes]:
    """``agency=key,agency=key`` → ``{agency: sha256(key)}``; malformed pairs are ignored."""
    keys: dict[str, bytes] = {}
    for pair in text.split(","):
        agency, sep, key = pair.strip().partition("=")
        if sep and agency.strip() and key.strip():
            keys[agency.strip()] = _digest(key.strip())
    return keys


@process.once
def _secret_cache() -> dict[str, tuple[float, dict[str, bytes]]]:
    """Secret id → (read again after, key digests), for the life of the warm container."""
    return {}


def _secret_keys(secret_id: str) -> dict[str, bytes]:
    now = time.monotonic()
    cached = _secret_cache().get(secret_id)
    if cached and now < cached[0]:
        return cached[1]
    raw = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    keys = {str(a): _digest(str(k)) for a, k in json.loads(raw).items() if a and k}
    _secret_cache()[secret_id] = (now + _SECRET_TTL_SECONDS, keys)
    return keys


def agency_key_digests() -> dict[str, bytes]:
    settings = get_settings()
    if settings.agency_keys_secret:
        return _secret_keys(settings.agency_keys_secret)
    return parse_keys(settings.agency_keys)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authenticate(authorization: str | None) -> str | None:
    """The agency whose key the ``Authorization`` header carries, or None."""
    token = bearer(authorization)
    if token is None:
        return None
    presented = _digest(token)
    found = None
    for agency, digest in agency_key_digests().items():
        # Compare with every key, without stopping early.
        if hmac.compare_digest(presented, digest):
            found = agency
    return found

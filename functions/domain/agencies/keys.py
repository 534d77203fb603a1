"""Who is calling: agency bearer keys, checked the same way by the authorizer and the API.

The keys are a Secrets Manager secret (``{"agency": "key"}``, named by
``AGENCY_KEYS_SECRET_ARN``), read at most every few minutes; the local bus creates it in its
embedded AWS from ``CITIZENBUS_AGENCY_KEYS`` (``agency=key,agency=key``) or its defaults.
Only SHA-256 digests of the keys are kept in memory, and a presented key is compared with
every agency's digest in constant time, so neither the timing nor a memory dump gives a key
away.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from functions.platform import process, secrets


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@process.once
def _digests_of() -> dict[str, dict[str, bytes]]:
    """The secret's text → its key digests (the last one only: a rotation replaces it)."""
    return {}


def agency_key_digests() -> dict[str, bytes]:
    """The agencies' key digests: from Secrets Manager (``AGENCY_KEYS_SECRET_ARN``, read again
    every few minutes, so a rotated key works without a redeploy). No secret configured: no
    agency gets in."""
    if not secrets.arn_of("agency_keys"):
        return {}
    try:
        raw = secrets.value("agency_keys")
    except secrets.MissingSecret:
        return {}
    cache = _digests_of()
    if raw not in cache:
        cache.clear()
        cache[raw] = {str(a): _digest(str(k)) for a, k in json.loads(raw).items() if a and k}
    return cache[raw]


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

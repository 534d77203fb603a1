"""Credentials: a citizen's app token (JWT) and the local agencies' API keys."""

from __future__ import annotations

import os
import time

import jwt

# The local bus's agency API keys, as request headers.
KEYS = {
    "streets": {"Authorization": "Bearer local-streets-key"},
    "waste": {"Authorization": "Bearer local-waste-key"},
    "tax": {"Authorization": "Bearer local-tax-key"},
}


def make_token(sub: str, secret: str | None = None, ttl: int = 600, acr: str | None = None) -> str:
    """A local app token; ``acr`` the eIDAS level (``low``, ``substantial``, ``high``) or any
    other claim value as an identity provider might send it."""
    from citizenbus.local.runtime import DEFAULT_JWT_SECRET

    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "iat": now, "exp": now + ttl}
    if acr:
        claims["acr"] = acr if "/" in acr else f"http://eidas.europa.eu/LoA/{acr}"
    return jwt.encode(
        claims,
        secret or os.environ.get("CITIZENBUS_JWT_SECRET", DEFAULT_JWT_SECRET),
        algorithm="HS256",
    )


def auth(sub: str = "citizen-1", acr: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(sub, acr=acr)}"}

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


def make_token(sub: str, secret: str | None = None, ttl: int = 600) -> str:
    from citizenbus.local.runtime import DEFAULT_JWT_SECRET

    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "iat": now, "exp": now + ttl},
        secret or os.environ.get("CITIZENBUS_JWT_SECRET", DEFAULT_JWT_SECRET),
        algorithm="HS256",
    )


def auth(sub: str = "citizen-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(sub)}"}

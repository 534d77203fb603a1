"""Shared fixtures: a whole local bus per test, app tokens, and the sample events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from citizenbus.local.runtime import LocalBus

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """A sample payload from ``events/`` (e.g. ``apigw/app_create_request.json``)."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


@pytest.fixture
def bus() -> Iterator[LocalBus]:
    with LocalBus() as local:
        yield local


def make_token(sub: str, secret: str | None = None, ttl: int = 600) -> str:
    import os

    from citizenbus.local.runtime import DEFAULT_JWT_SECRET

    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "iat": now, "exp": now + ttl},
        secret or os.environ.get("CITIZENBUS_JWT_SECRET", DEFAULT_JWT_SECRET),
        algorithm="HS256",
    )


def auth(sub: str = "citizen-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(sub)}"}


def count_items(table: str) -> int:
    import boto3

    client = boto3.client("dynamodb")
    return int(client.scan(TableName=f"citizenbus-{table}", Select="COUNT")["Count"])


def nothing_stored() -> bool:
    return count_items("requests") == 0 and count_items("outbox") == 0


@pytest.fixture
def open_data(bus: LocalBus) -> Iterator[Any]:
    """Open-data tests: a :class:`tests.test_privacy.PublicWatch` over the bus that fails the
    test when any personal data filed in it shows up in a public answer or export."""
    from tests.test_privacy import PublicWatch

    watch = PublicWatch(bus)
    yield watch
    watch.assert_clean()

"""Hypothesis profiles for the security suite: ``default`` keeps ``make test`` quick and
repeatable (derandomized: CI tries the same inputs every run, so a red CI is a change, not
luck), ``soak`` (``CITIZENBUS_FUZZ=soak pytest tests/security``) tries twenty times as much,
with fresh random inputs each run, to find what the default run does not."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from citizenbus.local.runtime import LocalBus

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": None,
}
settings.register_profile("default", max_examples=60, derandomize=True, **_COMMON)
settings.register_profile("soak", max_examples=1200, derandomize=False, **_COMMON)
settings.load_profile(os.environ.get("CITIZENBUS_FUZZ", "default"))


@pytest.fixture(scope="module")
def shared_bus() -> Iterator[LocalBus]:
    """One local bus for a whole module: hypothesis sends hundreds of requests through it."""
    with LocalBus() as local:
        yield local

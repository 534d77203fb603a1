"""Fixtures and hooks for the whole suite: a local bus per test, the open-data watch, and the
privacy watch around every test. Helpers live in ``tests/support/``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from citizenbus.local.runtime import LocalBus


@pytest.fixture
def bus() -> Iterator[LocalBus]:
    with LocalBus() as local:
        yield local


@pytest.fixture
def open_data(bus: LocalBus) -> Iterator[Any]:
    """Open-data tests: a :class:`tests.support.privacy.PublicWatch` over the bus that fails the
    test when any personal data filed in it shows up in a public answer or export."""
    from tests.support.privacy import PublicWatch

    watch = PublicWatch(bus)
    yield watch
    watch.assert_clean()


# -- the privacy watch over every test (tests/support/privacy_scan.py) --------------------
PRIVACY_KEY = pytest.StashKey[Any]()


@pytest.fixture(autouse=True)
def privacy_watch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Every test runs watched: personal data it files must not reach a log line, a bus
    event, an error answer or open data (checked after the test, with what it printed)."""
    from tests.support.privacy_scan import watching

    with watching(monkeypatch) as watch:
        request.node.stash[PRIVACY_KEY] = watch
        yield watch


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    if call.when != "teardown":
        return
    watch = item.stash.get(PRIVACY_KEY, None)
    if watch is None:
        return
    printed = [(f"printed ({key})", text) for _, key, text in item._report_sections]
    leaks = watch.leaks(printed)
    if leaks:
        report = outcome.get_result()
        report.outcome = "failed"
        report.longrepr = "personal data leaked:\n" + "\n".join(leaks[:20])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    import sys

    from tests.support.privacy_scan import TOTALS

    security = sys.modules.get("tests.support.strategies")
    if security is not None and security.INPUTS:
        tried = ", ".join(f"{n} {suite}" for suite, n in sorted(security.INPUTS.items()))
        terminalreporter.write_line(f"security suite: inputs tried: {tried}")

    if TOTALS["tests"]:
        terminalreporter.write_line(
            "privacy watch: {tests} tests, {values} personal values filed, {log_records} log"
            " records, {events} bus events and {answers} error/open-data answers scanned".format(
                **TOTALS
            )
        )

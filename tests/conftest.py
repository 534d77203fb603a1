"""Shared fixtures: a whole local bus per test, app tokens, and the sample events."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def citizenbus_serve() -> Iterator[tuple[str, str]]:
    """A real ``citizenbus serve`` on a free loopback port: (base URL, start-up banner).

    Started as a newcomer would, with none of the test process's AWS or citizenbus settings.
    """
    import subprocess
    import sys
    import threading

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CITIZENBUS_"))}
    env.pop("TWILIO_AUTH_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "citizenbus.cli", "serve", "--port", str(port)],
        cwd=EVENTS.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        assert proc.stdout is not None
        while "Press Ctrl+C" not in banner:
            line = proc.stdout.readline()
            assert line, f"serve exited early: {banner}"
            banner += line
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
        yield f"http://127.0.0.1:{port}", banner
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""Browser fixtures: a real ``citizenbus serve`` and Debian's headless chromium via Playwright.

These tests run with ``make e2e`` (which sets ``CITIZENBUS_E2E=1``); ``make test`` skips them.
Missing pieces (chromium, axe-core) are installed by ``tests/e2e/install.sh`` first.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.throughput import SERVE, serving
from tests.support.browser import AXE, ROOT, Pages, Server
from tests.support.serve import free_port

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENABLED = os.environ.get("CITIZENBUS_E2E") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="browser tests: run `make e2e`")
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def _ensure_tools() -> None:
    if not CHROMIUM.exists() or not AXE.exists():
        subprocess.run(["bash", str(HERE / "install.sh")], check=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # the server's whole output is kept for CI, at the log level of the test run
    env = {
        "CITIZENBUS_PUBLIC_URL": base,
        "PYTHONUNBUFFERED": "1",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL"),
    }
    log = (ROOT / "test-output").joinpath("e2e-server.log")
    log.parent.mkdir(exist_ok=True)
    with log.open("w+") as out, serving(*SERVE, env=env, port=port, output=out):
        yield Server(base)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _ensure_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()
    # Expected 4xx answers are logged by chromium as failed loads; anything else is a bug.
    unexpected = [e for e in opened.errors if "status of 40" not in e]
    assert not unexpected, unexpected

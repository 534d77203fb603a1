"""Browser fixtures: a real ``citizenbus serve`` and Debian's headless chromium via Playwright.

These tests run with ``make e2e`` (which sets ``CITIZENBUS_E2E=1``); ``make test`` skips them.
Missing pieces (chromium, axe-core) are installed by ``tests/e2e/install.sh`` first.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running local bus, reached over real HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return json.load(response)

    def queued(self, agency: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.get_json(f"/_local/queues/{agency}")
        return messages

    def wait_for_queued(self, agency: str, reference: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.queued(agency):
                if message["detail"]["subject"] == reference:
                    return message
            time.sleep(0.2)
        raise AssertionError(f"{reference} never reached the {agency} queue")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CITIZENBUS_PUBLIC_URL": base, "PYTHONUNBUFFERED": "1"}
    log = (ROOT / "test-output").joinpath("e2e-server.log")
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "citizenbus.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"citizenbus serve did not start; see {log}") from None
                    time.sleep(0.2)
            yield Server(base)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


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


class Pages:
    """Opens pages with console errors collected (a CSP violation shows up there)."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def new(self, *, javascript: bool = True) -> Any:
        context = self.browser.new_context(
            java_script_enabled=javascript, viewport={"width": 1000, "height": 900}
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()
    # Expected 4xx answers are logged by chromium as failed loads; anything else is a bug.
    unexpected = [e for e in opened.errors if "status of 40" not in e]
    assert not unexpected, unexpected


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def check_accessibility(page: Any, name: str) -> None:
    """Run axe-core on the page (WCAG 2.1 A/AA and best practices); fail on serious issues.

    The script is evaluated through the DevTools protocol, so the pages keep their strict
    Content-Security-Policy. A screenshot of the page is kept either way.
    """
    screenshot(page, name)
    if page.evaluate("() => typeof window.axe") == "undefined":
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
                resultTypes: ["violations"],
            });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")),
            }));
        }"""
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {json.dumps(serious, indent=2)}"

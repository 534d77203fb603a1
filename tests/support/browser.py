"""The browser tests' helpers: a running ``citizenbus serve`` over HTTP, pages opened in
chromium with their console errors collected, screenshots and the axe-core check."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-output" / "screenshots"


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

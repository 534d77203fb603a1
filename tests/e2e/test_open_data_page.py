"""The ``/open-data/`` page with a year of figures and its bulk files, checked by axe-core.

The page is rendered here from a synthetic year (the export's summary and manifest) and
loaded into the browser, so the check sees full charts and tables without seeding a server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from functions.domain.open_data import bulk
from functions.open_data.page import render
from functions.platform.catalog import get_catalog
from schemas.open311 import Stats
from tests.support.browser import Pages, check_accessibility

CHANNELS = ("sms", "voice", "app", "eservice", "open311")
SERVICES = ("street-damage", "missed-waste-collection", "tax-return-approve")


def year_of_rows(today: date) -> list[dict[str, Any]]:
    rows = []
    for n in range(3000):
        submitted = today - timedelta(days=n % 360, hours=n % 7)
        closed = n % 4 != 0
        rows.append(
            {
                "requested_date": submitted.isoformat(),
                "service_code": SERVICES[n % 3],
                "channel": CHANNELS[n % 5] if n % 11 else None,
                "resolution_hours": float(5 + n % 90) if closed else None,
                "within_sla": (n % 6 != 0) if closed else None,
            }
        )
    return rows


def test_the_open_data_page_with_a_year_is_accessible(pages: Pages) -> None:
    today = datetime.now(UTC).date()
    summary = bulk.monthly(year_of_rows(today), today, 5)
    manifest = bulk.Manifest(generated_at="2026-11-30T10:00:00Z")
    for stem in ("2026", "2025", today.isoformat(), (today - timedelta(days=1)).isoformat()):
        for ext in ("csv", "jsonl"):
            manifest.files[f"{stem}.{ext}"] = {
                "bytes": 12_345 * len(stem),
                "rows": 40,
                "first_date": f"{stem}-01-01" if len(stem) == 4 else stem,
                "last_date": f"{stem}-12-31" if len(stem) == 4 else stem,
            }
    for name in ("dictionary.md", "dictionary.json"):
        manifest.files[name] = {"bytes": 3_000}
    stats = Stats(
        generated_at="2026-11-30T10:00:00Z",
        start_date=(today - timedelta(days=365)).isoformat(),
        end_date=today.isoformat(),
        suppression_threshold=5,
        rows=[],
    )
    html = render(stats, get_catalog(), manifest, summary)
    page = pages.new()
    page.set_content(html)
    assert page.locator("figure svg[role=img]").count() >= 4
    check_accessibility(page, "open-data-year")

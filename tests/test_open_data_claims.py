"""What the aggregates' suppression protects, as the docs now say (finding 9 of issue 14).

The docstring and docs/open-data.md used to say withheld cells cannot be recovered. They can:
Open311 publishes every request with its service and day, so a lone withheld cell is Open311's
count minus the published cells. This test shows the subtraction a reader can do, and holds
the two texts to saying so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from citizenbus.local.runtime import LocalBus
from functions.domain.open_data import stats
from functions.domain.requests.intake import file_request
from schemas.channels import Channel
from schemas.request import Contact, NewRequest

ROOT = Path(__file__).resolve().parents[1]


def seed(channel: Channel, at: datetime, n: int) -> None:
    for i in range(n):
        new = NewRequest(
            service_code="street-damage",
            attributes={"address": "Storgatan 5"},
            contact=Contact(email=f"claims.{channel}.{i}@example.se"),
            language="en",
            new=True,  # separate requests at one place, not "me too"
        )
        citizen = f"cit_claims{channel}{i}" if channel == "sms" else None
        file_request(new, channel=channel, citizen=citizen, now=at + timedelta(minutes=i))


def test_a_lone_withheld_cell_is_open311s_count_minus_the_published_cells(bus: LocalBus) -> None:
    day = (datetime.now(UTC) - timedelta(days=3)).replace(hour=9, minute=0, second=0)
    seed("eservice", day, 6)
    seed("sms", day, 1)
    bus.run_schedules(force=True)
    rows = [
        r
        for r in bus.request("GET", "/open-data/v1/stats.json").json()["rows"]
        if r["date"] == day.date().isoformat() and r["service_code"] == "street-damage"
    ]
    published = sum(r["count"] for r in rows if not r["suppressed"])
    withheld = [r for r in rows if r["suppressed"]]
    assert published == 6 and [(r["channel"], r["count"]) for r in withheld] == [("sms", None)]
    start, end = day.date().isoformat(), (day + timedelta(days=1)).date().isoformat()
    listed = bus.request(
        "GET",
        f"/open311/v2/requests.json?service_code=street-damage&start_date={start}&end_date={end}",
    ).json()
    assert len(listed) - published == 1  # the withheld count, recovered by subtraction

    # ... and the texts say so instead of promising otherwise.
    doc = " ".join((ROOT / "docs" / "open-data.md").read_text(encoding="utf-8").split())
    docstring = " ".join((stats.__doc__ or "").split())
    for text in (doc, docstring):
        assert "cannot be recovered" not in text
        assert "minus the published cells" in text
        assert "dated daily" in text  # snapshots differ too

"""Open-data aggregates: stats.json / stats.csv, the scheduled S3 export, the /open-data/ page."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.open_data.stats import compute, percentile
from functions.domain.requests.intake import file_request
from schemas.channels import Channel
from schemas.request import Contact, NewRequest
from tests.support.bus import move
from tests.support.privacy import PublicWatch

ATTRIBUTES = {
    "street-damage": {"address": "Storgatan 5A"},
    "missed-waste-collection": {"address": "Sopvägen 7, lgh 1201"},
    "tax-return-approve": {"personal_code": "87654321"},
}


def seed(watch: PublicWatch, service: str, channel: Channel, at: datetime, n: int) -> list[str]:
    """File ``n`` requests at ``at`` (with personal data the watch looks out for)."""
    references = []
    for i in range(n):
        email = f"{service[:4]}.{channel}.{i}@example.se"
        watch.remember(email, *ATTRIBUTES[service].values())
        new = NewRequest(
            service_code=service,
            attributes=ATTRIBUTES[service],
            contact=Contact(email=email),
            language="en",
            new=True,  # separate requests at one place, not "me too"
        )
        citizen = f"cit_{service}{channel}{i}" if channel in ("app", "sms", "voice") else None
        filed = file_request(new, channel=channel, citizen=citizen, now=at + timedelta(minutes=i))
        references.append(filed.record["reference"])
    return references


def scenario(watch: PublicWatch) -> tuple[str, str]:
    """Two days of requests; returns the two days (YYYY-MM-DD)."""
    d1 = (datetime.now(UTC) - timedelta(days=20)).replace(hour=9, minute=0, second=0, microsecond=0)
    d2 = d1 + timedelta(days=1)
    streets = seed(watch, "street-damage", "eservice", d1, 6)
    for i, (reference, hours) in enumerate(zip(streets, (1, 2, 3, 4, 400), strict=False)):
        submitted = d1 + timedelta(minutes=i)
        move(
            reference,
            ("in_progress", submitted + timedelta(minutes=30)),
            ("resolved", submitted + timedelta(hours=hours)),
        )
    seed(watch, "missed-waste-collection", "open311", d2, 5)
    seed(watch, "tax-return-approve", "app", d2, 2)
    return d1.date().isoformat(), d2.date().isoformat()


def csv_rows(text: str) -> list[dict[str, Any]]:
    def value(column: str, cell: str) -> Any:
        if cell == "":
            return None
        if column == "suppressed":
            return cell == "true"
        if column == "count":
            return int(cell)
        if column.endswith(("_hours", "_rate")):
            return float(cell)
        return cell

    return [{k: value(k, v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def test_aggregates_suppress_small_cells_and_agree_in_json_csv_and_s3(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    d1, d2 = scenario(open_data)
    assert bus.run_schedules(force=True) >= 1  # the scheduled export among them
    files = open_data.exports()
    # the bulk files (tests/test_open_data_bulk.py) are in the same bucket, under bulk/
    assert {k for k in files if not k.startswith("open-data/v1/bulk/")} == {
        "open-data/v1/stats.json",
        "open-data/v1/stats.csv",
        "open-data/v1/journey.csv",
        f"open-data/v1/daily/{datetime.now(UTC).date()}/stats.json",
        f"open-data/v1/daily/{datetime.now(UTC).date()}/stats.csv",
        f"open-data/v1/daily/{datetime.now(UTC).date()}/journey.csv",
    }
    response = open_data.get("/open-data/v1/stats.json")
    assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    stats = response.json()
    assert stats == json.loads(files["open-data/v1/stats.json"])
    assert stats["suppression_threshold"] == 5
    suppressed: dict[str, Any] = {"count": None, "median_resolution_hours": None}
    suppressed |= {"p90_resolution_hours": None, "sla_breach_rate": None, "suppressed": True}
    assert stats["rows"] == [
        {"date": d1, "service_code": "street-damage", "channel": "eservice", "status": "received"}
        | suppressed,
        {
            "date": d1,
            "service_code": "street-damage",
            "channel": "eservice",
            "status": "resolved",
            "count": 5,
            "median_resolution_hours": 3.0,
            "p90_resolution_hours": 241.6,  # 4 + (400 - 4) * 0.6
            "sla_breach_rate": 0.2,  # one of five closed after the 14-day SLA
            "suppressed": False,
        },
        {
            "date": d2,
            "service_code": "missed-waste-collection",
            "channel": "open311",
            "status": "received",
            "count": 5,
            "median_resolution_hours": None,
            "p90_resolution_hours": None,
            "sla_breach_rate": 1.0,  # still open 19 days after a 3-day SLA
            "suppressed": False,
        },
        {"date": d2, "service_code": "tax-return-approve", "channel": "app", "status": "received"}
        | suppressed,
    ]
    as_csv = open_data.get("/open-data/v1/stats.csv")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_csv.text == files["open-data/v1/stats.csv"]
    assert csv_rows(as_csv.text) == stats["rows"]


def test_the_api_serves_the_last_export_until_the_next(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    now = datetime.now(UTC)
    first = open_data.get("/open-data/v1/stats.json").json()  # no export yet: made now
    assert first["rows"] == [] and "open-data/v1/stats.json" in open_data.exports()
    seed(open_data, "street-damage", "sms", now - timedelta(hours=1), 5)
    assert open_data.get("/open-data/v1/stats.json").json()["rows"] == []
    bus.run_schedules(force=True)
    (row,) = open_data.get("/open-data/v1/stats.json").json()["rows"]
    assert row["count"] == 5 and row["channel"] == "sms" and row["sla_breach_rate"] == 0.0


def test_the_threshold_is_a_setting() -> None:
    with LocalBus(env={"OPEN_DATA_SUPPRESSION": "2"}) as bus:
        watch = PublicWatch(bus)
        seed(watch, "tax-return-approve", "app", datetime.now(UTC) - timedelta(days=1), 2)
        stats = watch.get("/open-data/v1/stats.json").json()
        assert stats["suppression_threshold"] == 2
        assert [r["count"] for r in stats["rows"]] == [2]
        watch.assert_clean()


def test_the_page_draws_the_published_cells_and_links_the_data(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    scenario(open_data)
    bus.run_schedules(force=True)
    for path in ("/open-data/", "/open-data"):
        page = open_data.get(path)
        assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert html.count("<svg") >= 4 and "<script" not in html
    for link in (
        "/open-data/v1/stats.csv",
        "/open-data/v1/stats.json",
        "/open311/v2/requests.json",
    ):
        assert f'href="{link}"' in html
    assert "2 of 4 cells here" in html  # the withheld cells are said, not drawn
    assert "street-damage: 5 requests</title>" in html
    assert "missed-waste-collection: 5 requests</title>" in html
    assert "tax-return-approve: 2" not in html
    assert "<td>241.6</td>" in html


def test_percentile_and_resolution_math() -> None:
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([10.0, 20.0], 0.9) == 19.0
    now = datetime(2026, 3, 10, tzinfo=UTC)
    record: Any = {  # the fields the aggregates read
        "submitted_at": "2026-03-01T10:00:00Z",
        "service_code": "street-damage",
        "channel": "app",
        "status": "rejected",
        "expected_at": "2026-03-02T10:00:00Z",
        "updated_at": "2026-03-05T10:00:00Z",
        "history": [
            {"status": "received", "at": "2026-03-01T10:00:00Z"},
            {"status": "in_progress", "at": "2026-03-01T11:00:00Z"},
            {"status": "rejected", "at": "2026-03-01T16:00:00Z"},
        ],
    }
    (row,) = compute([record], now - timedelta(days=30), now, 1, now).rows
    assert row.median_resolution_hours == 6.0 and row.sla_breach_rate == 0.0


def test_a_table_too_big_to_aggregate_on_a_read_waits_for_the_export(
    open_data: PublicWatch, bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no export yet, a read aggregates the table only within ``INLINE_S``; past it (a
    backfill of a year, say) the answer is 503 with Retry-After, at once for the next minute,
    until the scheduled export has written the file."""
    from functions.domain.open_data import stats

    seed(open_data, "street-damage", "sms", datetime.now(UTC) - timedelta(hours=2), 5)
    monkeypatch.setattr(stats, "INLINE_S", -1.0)  # every read is over its time
    for path in ("/open-data/v1/stats.json", "/open-data/v1/stats.csv", "/open-data/"):
        answer = open_data.get(path)
        assert answer.status == 503 and answer.headers["Retry-After"] == "60"
        assert "export" in answer.json()["errors"][0]["message"]
    assert "open-data/v1/stats.json" not in open_data.exports()  # nothing half-made published
    bus.run_schedules(force=True)
    (row,) = open_data.get("/open-data/v1/stats.json").json()["rows"]
    assert row["count"] == 5 and open_data.get("/open-data/").status == 200

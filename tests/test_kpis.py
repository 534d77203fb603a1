"""Journey KPIs in open data: a hand count, suppression, the files and page, a seeded year."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from citizenbus import cli
from citizenbus.local.runtime import LocalBus
from functions.domain.open_data import journey
from functions.domain.requests.records import HistoryEntry, Request
from functions.open_data import export
from schemas.open311 import Stats
from tests.support.privacy import PublicWatch
from tests.support.serve import in_process

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TOKEN = "operator-token-for-the-kpi-test"


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def record(
    ref: str, channel: str, start: float, steps: list[tuple[str, float]], supporters: int = 0
) -> Request:
    history: list[HistoryEntry] = [{"status": "received", "at": at(start), "by": "citizen"}]
    history += [{"status": s, "at": at(h), "by": "agency:streets"} for s, h in steps]
    return {
        "reference": ref,
        "service_code": "street-damage",
        "agency": "streets",
        "channel": channel,
        "status": history[-1]["status"].replace("reopened", "in_progress"),
        "citizen": "cit_x",
        "attributes": {},
        "language": "sv",
        "notify_by": "none",
        "submitted_at": at(start),
        "updated_at": history[-1]["at"],
        "expected_at": at(start + 14 * 24),
        "history": history,
        "version": 1,
        "supporters": supporters,
    }


FIXTURE = [
    # resolved after 50 h, then reopened by the citizen (18A's history entry); 2 followers
    record("1", "sms", 0, [("in_progress", 2), ("resolved", 50), ("reopened", 60)], 2),
    # resolved after 20 days: past its 14-day SLA
    record("2", "sms", 24, [("in_progress", 28), ("resolved", 24 + 480)]),
    # not answered yet and not due
    record("3", "sms", 48, []),
    # another channel, one request: its own row is withheld
    record("4", "eservice", 72, [("in_progress", 73)]),
]
VERDICTS = [
    {"reference": "2", "service_code": "street-damage", "channel": "sms", "month": "2026-03"}
    | {"score": s}
    for s in (5, 4, 1)
] + [
    {"reference": "4", "service_code": "street-damage", "channel": "eservice"}
    | {"month": "2026-03", "score": 2},
    {"reference": "4", "service_code": "street-damage", "channel": "eservice"}
    | {"month": "2026-03", "score": 9},  # not a 1–5 answer: ignored
]
NOW = T0 + timedelta(days=5)


def rows(threshold: int) -> dict[str, dict[str, Any]]:
    found = journey.compute(FIXTURE, VERDICTS, threshold, NOW)
    return {r.channel: r.model_dump() for r in found}


def test_the_kpis_match_a_hand_count() -> None:
    by = rows(threshold=3)
    assert by["sms"] == {
        "month": "2026-03",
        "service_code": "street-damage",
        "channel": "sms",
        "requests": 3,
        "median_first_response_hours": 3.0,  # 2 h and 4 h
        "p90_first_response_hours": 3.8,
        "median_resolution_hours": 265.0,  # 50 h and 480 h
        "p90_resolution_hours": 437.0,
        "within_sla_share": 0.5,  # 1 in time, 1 late; the third not due yet
        "reopen_rate": 0.5,  # of the 2 resolved, 1 reopened
        "followers": 2,
        "satisfaction_mean": 3.33,  # 5, 4, 1
        "satisfaction_answers": 3,
        "suppressed": False,
    }
    every = by["all"]
    assert every["requests"] == 4 and every["median_first_response_hours"] == 2.0
    assert every["p90_first_response_hours"] == 3.6  # 1, 2, 4 h
    assert every["satisfaction_mean"] == 3.0 and every["satisfaction_answers"] == 4
    assert by["eservice"] == {
        "month": "2026-03",
        "service_code": "street-damage",
        "channel": "eservice",
        "suppressed": True,
    } | {k: None for k in by["sms"] if k not in ("month", "service_code", "channel", "suppressed")}


def test_small_rows_and_few_answers_are_withheld() -> None:
    by = rows(threshold=4)
    assert by["sms"]["suppressed"] and by["sms"]["requests"] is None
    assert by["all"]["requests"] == 4 and by["all"]["satisfaction_answers"] == 4
    by = rows(threshold=5)
    assert all(r["suppressed"] and r["followers"] is None for r in by.values())
    few = journey.compute(FIXTURE, VERDICTS[:2], 3, NOW)
    sms = next(r for r in few if r.channel == "sms")
    assert sms.requests == 3 and sms.satisfaction_mean is None and sms.satisfaction_answers is None


def test_without_reopens_or_verdicts_the_kpis_still_count() -> None:
    plain = [
        record(str(n), "app", n, [("in_progress", n + 1), ("resolved", n + 10)]) for n in range(5)
    ]
    app = next(r for r in journey.compute(plain, [], 5, NOW) if r.channel == "app")
    assert app.reopen_rate == 0.0 and app.satisfaction_mean is None
    assert app.median_resolution_hours == 10.0 and app.within_sla_share == 1.0


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, LocalBus]]:
    monkeypatch.setenv("CITIZENBUS_OPERATOR_TOKEN", TOKEN)
    with in_process(TOKEN) as served:
        yield served


def test_a_seeded_year_has_plausible_kpis_in_the_files_and_on_the_page(
    served: tuple[str, LocalBus],
) -> None:
    base, bus = served
    args = ["seed", "--requests", "500", "--days", "365", "--seed", "5", "--local", base]
    assert cli.main(args) == 0
    bus.run_schedules(force=True)
    watch = PublicWatch(bus)
    stats = watch.get("/open-data/v1/stats.json").json()
    rows = [r for r in stats["journey"] if not r["suppressed"]]
    assert rows, "a seeded year publishes journey rows"
    overall = [r for r in rows if r["channel"] == "all"]
    assert 250 <= sum(r["requests"] for r in overall) <= 500
    assert {r["service_code"] for r in overall} >= {"street-damage", "missed-waste-collection"}
    for r in rows:
        first, resolved = r["median_first_response_hours"], r["median_resolution_hours"]
        if first is not None:
            assert 0 < first <= r["p90_first_response_hours"] < 24 * 60
        if resolved is not None:
            assert 0 < resolved <= r["p90_resolution_hours"] < 24 * 120
        if first is not None and resolved is not None:
            assert first < resolved  # the first answer comes before the last
        assert r["within_sla_share"] is None or 0 <= r["within_sla_share"] <= 1
        assert r["reopen_rate"] is None or 0 <= r["reopen_rate"] < 0.5
        assert r["followers"] >= 0
    shares = [r["within_sla_share"] for r in overall if r["within_sla_share"] is not None]
    assert 0.4 < sum(shares) / len(shares) < 1.0  # most in time, some late
    # Some citizens reopen (a few per cent of what was resolved) and a third answer the verdict.
    rates = [r["reopen_rate"] for r in overall if r["reopen_rate"] is not None]
    assert any(rate > 0 for rate in rates) and sum(rates) / len(rates) < 0.2, rates
    means = [r["satisfaction_mean"] for r in overall if r["satisfaction_mean"] is not None]
    assert means and all(1 <= m <= 5 for m in means), means
    csv_text = watch.get("/open-data/v1/journey.csv").text
    assert csv_text.splitlines()[0].startswith("month,service_code,channel,requests,")
    assert len(csv_text.splitlines()) == len(stats["journey"]) + 1
    page = watch.get("/open-data/").text
    assert "Median hours to resolution, by month of submission" in page
    assert 'aria-label="Reopen rate, by month of submission' in page
    watch.assert_clean()


def test_the_export_sends_the_months_published_figures_as_metrics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    found = journey.compute(FIXTURE, VERDICTS, 3, NOW)
    stats = Stats(generated_at="x", start_date="x", end_date="x", suppression_threshold=3, rows=[])
    assert export.gauges(stats.model_copy(update={"journey": found})) == 4  # sms only
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    values = {
        m["Name"]: line[m["Name"]]
        for line in lines
        for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert values == {
        "JourneyWithinSlaShare": [50.0],
        "JourneyReopenRate": [50.0],
        "JourneyFollowers": [2.0],
        "JourneySatisfaction": [3.33],
    }
    assert all(line["service"] == "street-damage" and line["channel"] == "sms" for line in lines)

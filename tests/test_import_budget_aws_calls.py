"""The AWS-call budget of the synchronous intake path, and how the bench picks its events.

A citizen waits for every AWS call the filing route makes, so the bench's journey (the same
one ``make bench`` reports) must find at most 2 on each filing channel the topology serves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import events as bench_events
from bench.journey import SYNC_BUDGET, measure
from functions import topology


def test_every_filing_channel_stays_within_the_sync_call_budget() -> None:
    report = measure(progress=lambda _: None)
    journeys = {j["channel"]: j for j in report["journeys"]}
    assert {"app", "eservice"} <= set(journeys)
    for channel, journey in journeys.items():
        assert journey["status"] in (200, 201), f"{channel}: {journey['steps']}"
        assert journey["reference"], f"{channel} filed no reference"
        assert 1 <= journey["sync_calls"] <= SYNC_BUDGET, (channel, journey["sync_operations"])
        # The request reached the bus after the synchronous answer, not during it.
        assert "events.PutEvents" not in journey["sync_operations"]
        assert journey["rest_operations"].get("events.PutEvents", 0) >= 1


def test_every_function_gets_an_event_from_its_kind() -> None:
    for fn in topology.FUNCTIONS:
        chosen = bench_events.bench_event(fn)
        if fn.routes:
            assert chosen.event is not None
            assert chosen.event["routeKey"] in {f"{r.method} {r.path}" for r in fn.routes}
        elif fn.stream:
            assert chosen.event is not None
            assert chosen.event["Records"][0]["eventSource"] == "aws:dynamodb"


def test_a_functions_own_bench_event_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bench").mkdir()
    own = {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}
    (tmp_path / "bench" / "later_function.json").write_text(json.dumps(own))
    monkeypatch.setattr(bench_events, "EVENTS", tmp_path)
    fn = topology.Function(
        "later_function", "functions.later.handler.lambda_handler", queues=("q",)
    )
    chosen = bench_events.bench_event(fn)
    assert chosen.event == own
    assert chosen.source == "events/bench/later_function.json"


def test_a_queue_consumer_without_a_sample_gets_the_eventbridge_envelope() -> None:
    fn = topology.Function("consumer", "x.handler", queues=("citizenbus-nothing-{agency}",))
    chosen = bench_events.bench_event(fn)
    assert chosen.kind == "queue"
    assert chosen.event is not None
    body = json.loads(chosen.event["Records"][0]["body"])
    assert body["detail"]["specversion"] == "1.0"


def test_a_scheduled_function_gets_a_scheduler_event() -> None:
    fn = topology.Function("ticker", "x.handler", schedule_minutes=5)
    chosen = bench_events.bench_event(fn)
    assert chosen.event is not None
    assert chosen.event["source"] == "aws.scheduler"

"""The AWS-call budget of the synchronous intake path, and how the bench picks its events.

A citizen waits for every AWS call the filing route makes, so the bench's journey (the same
one ``make bench`` reports) must find at most 2 on each filing channel the topology serves.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bench import events as bench_events
from bench.journey import SYNC_BUDGET, measure
from functions import topology

# Channels over the budget today, with the cause; a strict xfail, so a fix must remove the entry.
KNOWN_OVER: dict[str, str] = {}
CHANNELS = [
    channel
    for channel, route in (
        ("app", ("POST", "/app/v1/requests")),
        ("eservice", ("POST", "/eservice/v1/forms/{service_code}")),
        ("sms", ("POST", "/channels/sms")),
        ("open311", ("POST", "/open311/v2/requests.json")),
    )
    if route in {(r.method, r.path) for f in topology.FUNCTIONS for r in f.routes}
]


@cache
def journeys() -> dict[str, dict[str, Any]]:
    return {j["channel"]: j for j in measure(progress=lambda _: None)["journeys"]}


def _param(channel: str) -> object:
    if channel in KNOWN_OVER:
        return pytest.param(
            channel, marks=pytest.mark.xfail(strict=True, reason=KNOWN_OVER[channel])
        )
    return channel


@pytest.mark.parametrize("channel", [_param(c) for c in CHANNELS])
def test_filing_stays_within_the_sync_call_budget(channel: str) -> None:
    journey = journeys()[channel]
    assert journey["status"] in (200, 201), f"{channel}: {journey['steps']}"
    assert journey["reference"], f"{channel} filed no reference"
    assert 1 <= journey["sync_calls"] <= SYNC_BUDGET, journey["sync_operations"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_bus_is_reached_after_the_answer_not_during_it(channel: str) -> None:
    journey = journeys()[channel]
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

"""``make capacity``: the deadline-day model sets the peak against every quota, with sources.

The model is checked on a tiny profile against a hand computation, on fixtures where one quota
is shrunk until it is the first to break, and on the committed bench report, where the
deadline-day design must leave nothing broken. The quota data must name a source and a date
for every figure; the SQS price counts what Lambda's pollers bill.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

import pytest

from bench import capacity, price

QUOTA_KEYS = {
    "apigw_account_rps",
    "apigw_account_burst",
    "lambda_concurrency",
    "lambda_scaling_rate",
    "eventbridge_putevents",
    "eventbridge_invocations",
    "dynamodb_table_initial_writes",
    "dynamodb_table_initial_reads",
    "dynamodb_partition_writes",
    "dynamodb_partition_reads",
    "sqs_in_flight",
    "ses_send_rate",
    "twilio_long_code_mps",
    "twilio_short_code_mps",
}


def _quotas(**values: float) -> dict[str, dict[str, Any]]:
    """Every quota the model reads, at 1,000,000 unless given: nothing breaks by accident."""
    return {
        key: {
            "default": values.get(key, 1_000_000),
            "source": f"https://example.test/{key}",
            "read": "2026-11-30",
        }
        for key in QUOTA_KEYS
    }


def _filing() -> dict[str, dict[str, Any]]:
    """One channel, round numbers: 20 ms on the filing route, 10 ms per consumer per event."""
    return {
        "eservice": {
            "function": "eservice",
            "events_in_journey": 3,
            "sync_calls": 1,
            "async_calls_per_event": 0.0,
            "sync_ms": 20.0,
            "event_ms": {"outbox_publisher": 10.0, "webhook_delivery": 10.0, "notifier": 10.0},
            "wru_per_event": 5.0,
            "rru_per_event": 2.0,
            "sqs_messages_per_event": 3.0,
            "journey_units": {"dynamodb_wru": 15, "lambda_request": 10},
            "journey_sqs_messages": 9,
        }
    }


LIMITS = {"throttles": {"citizen": 1_000_000, "twilio": 1_000_000}, "reserved": {}}
TINY = capacity.Profile(
    filings_per_day=1000, peak_per_s=10.0, mix={"eservice": 1.0}, region="eu-north-1"
)
DESIGN = capacity.Design(name="test", eb_targets_per_event=3)


def _run(quotas: dict[str, dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return capacity.model(
        _filing(), quotas, kw.pop("profile", TINY), kw.pop("design", DESIGN), LIMITS, **kw
    )


def _demand(result: dict[str, Any], key: str) -> float:
    (check,) = [c for c in result["checks"] if c["key"] == key]
    return float(check["demand"])


def test_the_model_on_a_tiny_profile_matches_a_hand_computation() -> None:
    result = _run(_quotas())
    # 10 filings/s on one channel: 10 HTTP requests, 10 events, 3 targets each, 10 per PutEvents
    assert _demand(result, "apigw_account_rps") == 10
    assert _demand(result, "eventbridge_invocations") == 30
    assert _demand(result, "eventbridge_putevents") == pytest.approx(1.0)
    # Lambda: 10/s x 20 ms on the route; per event publisher 10 ms, webhook 10 + 100 ms (the
    # agency's endpoint), notifier 10 + 100 ms (Twilio/SES): 0.2 + 0.1 + 1.1 + 1.1 = 2.5
    assert _demand(result, "lambda_concurrency") == pytest.approx(2.5)
    # DynamoDB: 5 WRU and 2 RRU per filing, all on one table when there is no split
    assert _demand(result, "dynamodb_writes_(all tables; upper bound)") == pytest.approx(50)
    assert _demand(result, "dynamodb_reads_(all tables; upper bound)") == pytest.approx(20)
    # every e-service filer hears back by e-mail: 10 receipts/s; nobody by SMS
    assert _demand(result, "ses_send_rate") == 10
    assert _demand(result, "twilio_mps") == 0
    assert result["first_to_break"] is None and result["broken"] == []


def test_a_measured_table_split_puts_each_tables_share_against_its_own_quota() -> None:
    split = {
        "requests": {"dynamodb_wru": 0.25, "dynamodb_rru": 1.0},
        "outbox": {"dynamodb_wru": 0.75, "dynamodb_rru": 0.0},
    }
    result = _run(_quotas(dynamodb_table_initial_writes=40), table_split=split)
    assert _demand(result, "dynamodb_writes_requests") == pytest.approx(12.5)
    assert _demand(result, "dynamodb_writes_outbox") == pytest.approx(37.5)
    assert result["broken"] == []  # 37.5 of 40 holds; no table is judged on the sum of all


@pytest.mark.parametrize(
    ("shrunk", "expected"),
    [
        ({"eventbridge_invocations": 20}, "eventbridge_invocations"),  # 30 > 20
        (
            {"eventbridge_invocations": 20, "lambda_concurrency": 1},
            "lambda_concurrency",
        ),  # 2.5x over beats 1.5x
        ({"ses_send_rate": 5, "eventbridge_invocations": 29}, "ses_send_rate"),
        ({"apigw_account_rps": 9}, "apigw_account_rps"),
    ],
)
def test_the_first_quota_to_break_is_the_one_with_the_least_headroom(
    shrunk: dict[str, float], expected: str
) -> None:
    result = _run(_quotas(**shrunk))
    assert result["first_to_break"] == expected
    assert result["first_aws_quota_to_break"] == expected
    assert set(result["broken"]) == set(shrunk)


def test_a_region_row_wins_over_the_default() -> None:
    quotas = _quotas()
    quotas["eventbridge_invocations"] = {
        **quotas["eventbridge_invocations"],
        "default": 20,
        "by_region": {"us-east-1": 18750},
    }
    assert _run(quotas)["first_to_break"] == "eventbridge_invocations"
    assert _run(quotas, profile=replace(TINY, region="us-east-1"))["first_to_break"] is None


def test_a_queue_backed_limit_lags_instead_of_breaking() -> None:
    limits: dict[str, Any] = {**LIMITS, "reserved": {"webhook_delivery": 1}}  # needs 1.1/s
    result = capacity.model(_filing(), _quotas(), TINY, DESIGN, limits)
    assert result["broken"] == [] and result["lagging"] == ["reserved_webhook_delivery"]
    limits = {**LIMITS, "reserved": {"eservice": 0.1}}  # the filing route itself: refused
    result = capacity.model(_filing(), _quotas(), TINY, DESIGN, limits)
    assert result["first_to_break"] == "reserved_eservice"


def test_every_quota_has_a_source_and_the_date_it_was_read() -> None:
    quotas = capacity.load_quotas()
    assert set(quotas) >= QUOTA_KEYS
    for key, quota in quotas.items():
        assert re.match(r"https://\S+", quota["source"]), key
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", quota["read"]), key
        assert isinstance(quota["verified"], bool), key
        assert quota["lead_time"], key
        assert capacity.quota_value(quota, "eu-north-1") > 0, key
    assert capacity.quota_value(quotas["eventbridge_invocations"], "eu-north-1") == 1100
    assert capacity.quota_value(quotas["eventbridge_invocations"], "us-east-1") == 18750


def test_the_model_counts_the_targets_the_cdk_app_gives_each_event() -> None:
    from functions import topology
    from infra.cdk.bus_construct import agency_target_queues

    subscribers = sum(1 for fn in topology.FUNCTIONS if fn.subscribes)
    assert capacity.targets_per_event() == len(agency_target_queues("streets")) + subscribers == 3


def test_the_committed_report_breaks_as_built_and_the_deadline_day_design_holds() -> None:
    report = json.loads(capacity.REPORT.read_text(encoding="utf-8"))
    data = capacity.run(capacity.Profile(), report, capacity.load_quotas(), None)
    built, day = data["as_built"], data["deadline_day"]
    # 1,000 filings/s x 3 targets against eu-north-1's 1,100 invocations/s
    assert "eventbridge_invocations" in built["broken"]
    assert _demand(built, "eventbridge_invocations") == pytest.approx(3000)
    assert day["broken"] == [], day["broken"]
    assert day["design"]["eb_targets_per_event"] == 1 and day["design"]["changes"]
    assert data["bill"]["deadline_day"]["total_usd"] > 0
    md = capacity.markdown(data)
    assert "First limit to break" in md and "Deadline-day design" in md
    # the docs page carries the summary between its own markers, outside make bench's
    summary = capacity.docs_summary(data)
    assert summary.startswith(capacity.BEGIN) and summary.endswith(capacity.END)
    assert (
        "EventBridge target invocations (3 per event) | 3,000 invocations/s | 1,100 | **0.37x**"
        in summary
    )
    page = capacity.DOCS.read_text(encoding="utf-8")
    assert page.index("<!-- bench:end -->") < page.index(capacity.BEGIN) < page.index(capacity.END)


def test_sqs_is_priced_as_lambdas_pollers_bill_it() -> None:
    assert price.sqs_requests(10) == 30  # a quiet day: send, receive and delete each
    assert price.sqs_requests(10, batch_fill=10) == pytest.approx(
        12
    )  # 10 sends, 1 receive, 1 delete
    assert price.sqs_requests(10, batch_fill=50) == pytest.approx(12)  # a batch holds 10 at most
    # an idle queue: 5 pollers x a 20 s long poll, all day
    assert price.sqs_idle_requests_per_day(1) == 5 * 86400 / 20 == 21600
    assert math.isclose(price.sqs_idle_requests_per_day(4) * 0.40 / 1e6 * 30, 1.0368)


def _committed_run() -> dict[str, Any]:
    """The model on the committed bench report and the committed peak-minute simulation."""
    report = json.loads(capacity.REPORT.read_text(encoding="utf-8"))
    committed = json.loads((capacity.OUT / "capacity.json").read_text(encoding="utf-8"))
    return capacity.run(capacity.Profile(), report, capacity.load_quotas(), committed["simulation"])


def test_the_deadline_day_switch_deploys_what_the_model_needs() -> None:
    data = _committed_run()
    steps = data["deadline_day"]["design"]["steps"]
    built = {s["change"].split(":")[0] for s in steps if s["status"] == "built"}
    # what the model needs depends on the bench's figures; the route classes always, and
    # whatever it asks of tables and concurrency is deployed by the switch, none of it short
    assert {"route class citizen", "route class twilio"} <= built
    assert all(
        b.startswith(("route class", "warm throughput", "reserved concurrency")) for b in built
    )
    assert [s for s in steps if s["status"] == "short"] == []
    # the design the code does not have is said so, and its stand-in request is sized for it
    not_built = " ".join(s["change"] for s in steps if s["status"] == "not built")
    assert "one target per event" in not_built and "sharded" in not_built
    assert any("4500/s while the as-built three targets" in s["change"] for s in steps)
    # with only the built part and the requests filed, the peak breaks nothing
    today = data["built_today"]
    assert today["design"]["eb_targets_per_event"] == 3
    assert today["broken"] == []


def test_a_switch_below_the_models_figure_is_reported_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from functions import topology

    monkeypatch.setattr(topology, "DEADLINE_DAY_THROTTLES", {"twilio": (300, 600)})
    monkeypatch.setattr(topology, "DEADLINE_DAY_WARM_THROUGHPUT", {})
    steps = _committed_run()["deadline_day"]["design"]["steps"]
    short = [s["change"] for s in steps if s["status"] == "short"]
    assert short[0].startswith(
        "route class citizen: 750 rps for the day: the switch deploys nothing"
    )
    assert all("DEADLINE_DAY_WARM_THROUGHPUT" in s for s in short[1:]) and len(short) >= 2

"""The deadline-day switch: ``cdk deploy -c deadline_day=true`` deploys the day's figures.

The app is synthesized a second time (prod only) with the deadline-day design, and the CDK
CLI's context is shown to switch it (as ``cdk deploy -c deadline_day=true`` runs it); both
templates are checked: the as-built one
keeps the as-built figures, the deadline-day one carries the day's route throttles, table warm
throughput and reserved concurrency (functions/topology.py DEADLINE_DAY_*) and nothing else
changes; cdk-nag and cfn-lint stay clean on it.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from functions import topology
from infra.cdk import cfn_lint
from infra.cdk.app import Synth, deadline_day_flag, synth
from tests.support.cdk import Template

DAY_KEYS = ("ThrottlingRateLimit", "ThrottlingBurstLimit")


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synth, Template]:
    """prod synthesized with the deadline-day design."""
    result = synth(
        ("prod",), tmp_path_factory.mktemp("cdk-day"), stage_assets=False, deadline_day=True
    )
    return result, Template(result.template("prod"))


def _route_limits(t: Template) -> dict[str, tuple[int, int]]:
    (stage,) = t.of_type("AWS::ApiGatewayV2::Stage").values()
    return {key: (s[DAY_KEYS[0]], s[DAY_KEYS[1]]) for key, s in stage["RouteSettings"].items()}


def _route_classes(t: Template) -> dict[str, str]:
    """Each route key of the template with its throttle class."""
    classes: dict[str, str] = {}
    for route in t.of_type("AWS::ApiGatewayV2::Route").values():
        method, path = route["RouteKey"].split(" ", 1)
        classes[route["RouteKey"]] = topology.throttle_class(topology.Route(method, path))
    return classes


def _warm(t: Template) -> dict[str, Any]:
    return {
        props["TableName"]: props["WarmThroughput"]
        for props in t.of_type("AWS::DynamoDB::Table").values()
        if "WarmThroughput" in props
    }


def _reserved(t: Template) -> dict[str, int | None]:
    return {
        fn.name: t.function_of(fn.name)[1].get("ReservedConcurrentExecutions")
        for fn in topology.FUNCTIONS
    }


def test_the_deadline_day_raises_the_filing_routes_and_keeps_the_other_classes(prod, day):
    _, built = prod
    _, t = day
    classes = _route_classes(built)
    as_built, on_the_day = _route_limits(built), _route_limits(t)
    assert set(on_the_day) == set(as_built) == set(classes)
    for key, cls in classes.items():
        assert as_built[key] == topology.THROTTLES[cls], key  # the default is unchanged
        assert on_the_day[key] == topology.DEADLINE_DAY_THROTTLES.get(
            cls, topology.THROTTLES[cls]
        ), key
    # what a citizen files through, at the figures the capacity model asks for
    assert on_the_day["POST /app/v1/requests"] == (750, 1500)
    assert on_the_day["POST /channels/sms"] == (300, 600)
    assert as_built["POST /app/v1/requests"] == (50, 100)
    # the guessable status look-up and the agencies' API do not grow with the day
    assert on_the_day["POST /status"] == topology.THROTTLES["lookup"]
    assert on_the_day["POST /agency/v1/requests/{reference}/status"] == topology.THROTTLES["agency"]


def test_the_deadline_day_warms_the_idempotency_table_and_as_built_warms_none(prod, day):
    _, built = prod
    _, t = day
    assert _warm(built) == {}
    assert _warm(t) == {
        "citizenbus-idempotency": {"ReadUnitsPerSecond": 12_000, "WriteUnitsPerSecond": 15_000},
        "citizenbus-citizens": {"ReadUnitsPerSecond": 12_000, "WriteUnitsPerSecond": 9_400},
    }
    # still on-demand: warm throughput pre-splits partitions, it is no provisioned capacity
    for props in t.of_type("AWS::DynamoDB::Table").values():
        assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_the_deadline_day_raises_sms_reserved_concurrency_and_no_other(prod, day):
    _, built = prod
    _, t = day
    as_built, on_the_day = _reserved(built), _reserved(t)
    assert as_built["sms"] == 20
    assert on_the_day["sms"] == 30
    assert {k: v for k, v in on_the_day.items() if k != "sms"} == {
        k: v for k, v in as_built.items() if k != "sms"
    }


def _without_the_days_figures(template: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(template)
    for resource in body["Resources"].values():
        props = resource.get("Properties", {})
        props.pop("WarmThroughput", None)
        props.pop("ReservedConcurrentExecutions", None)
        for settings in props.get("RouteSettings", {}).values():
            for key in DAY_KEYS:
                settings.pop(key, None)
    return body


def test_the_switch_changes_the_days_figures_and_nothing_else(prod, day):
    built, _ = prod
    result, _ = day
    assert _without_the_days_figures(result.template("prod")) == _without_the_days_figures(
        built.template("prod")
    )


def test_cdk_nag_and_cfn_lint_are_clean_on_the_deadline_day_template(day, tmp_path):
    result, _ = day
    assert result.errors == []
    path = tmp_path / "prod-deadline-day.json"
    path.write_text(json.dumps(result.template("prod"), indent=1))
    assert cfn_lint.lint(path) == []


def test_the_cdk_clis_context_switches_the_app_to_the_deadline_day() -> None:
    # `cdk deploy -c deadline_day=true` hands its context to the app's process in
    # CDK_CONTEXT_JSON (a fresh process: the CDK's Node runtime reads it when it starts)
    code = "import aws_cdk as cdk; from infra.cdk.app import deadline_day_of; "
    code += "print(deadline_day_of(cdk.App()))"
    answers = []
    for context in ({"deadline_day": "true"}, {}):
        env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context)}
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        answers.append(run.stdout.strip().splitlines()[-1])
    assert answers == ["True", "False"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("false", False), (False, False), ("true", True), (True, True), ("1", True)],
)
def test_the_context_flag_reads_what_the_cli_passes(value: object, expected: bool) -> None:
    assert deadline_day_flag(value) is expected


def test_a_mistyped_flag_fails_the_synth_instead_of_deploying_the_wrong_day() -> None:
    with pytest.raises(ValueError, match="true or false"):
        deadline_day_flag("ture")


def test_a_deadline_day_figure_naming_nothing_or_below_aws_range_fails_the_synth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infra.cdk import topology_check

    assert topology_check.problems() == []
    monkeypatch.setattr(topology, "DEADLINE_DAY_THROTTLES", {"citizens": (750, 1500)})
    monkeypatch.setattr(
        topology,
        "DEADLINE_DAY_WARM_THROUGHPUT",
        {"idempotency": (12_000, 2_000), "outbx": (12_000, 8_000)},
    )
    found = "\n".join(topology_check.problems())
    assert "DEADLINE_DAY_THROTTLES['citizens']: not a throttle class" in found
    assert "DEADLINE_DAY_WARM_THROUGHPUT['outbx']: not a table" in found
    assert (
        "DEADLINE_DAY_WARM_THROUGHPUT['idempotency']: at least 12000 read and 4000 write" in found
    )

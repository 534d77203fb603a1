"""A per-function setting the CDK app cannot build fails the synth with a clear error.

The settings live in functions/topology.py's entries; what they name (an authorizer function,
a queue to send to, a table, a bucket, a permission) is checked by infra/cdk/topology_check.py
before any construct is built.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any

import aws_cdk as cdk
import pytest

import infra.cdk
from functions import topology
from functions.topology import Function, Route
from infra.cdk.constants import ENVIRONMENTS
from infra.cdk.stack import CitizenBusStack
from infra.cdk.topology_check import TopologyError, check_topology, problems
from schemas.catalog import load_catalog

HEALTH = topology.function("health")


def _with(*functions: Function) -> tuple[Function, ...]:
    return (*topology.FUNCTIONS, *functions)


def _error(**kwargs: Any) -> str:
    with pytest.raises(TopologyError) as raised:
        check_topology(**kwargs)
    return str(raised.value)


def test_the_real_topology_passes():
    assert problems() == []
    check_topology()


def test_an_authorizer_that_is_no_function_fails():
    message = _error(authorizers={"agency": "sms_status"})
    assert "AUTHORIZERS['agency'] names 'sms_status', which is not a function" in message


def test_a_route_whose_auth_kind_has_no_authorizer_fails():
    message = _error(authorizers={})
    assert "PUT /agency/v1/subscriptions has auth 'agency'" in message


def test_sending_to_the_queue_of_a_function_that_does_not_exist_fails():
    sender = dataclasses.replace(
        HEALTH, name="health2", permissions=("sqs:send:citizenbus-sms-status",)
    )
    message = _error(functions=_with(sender))
    assert "health2: permission 'sqs:send:citizenbus-sms-status' names a queue no function" in (
        message
    )
    assert "citizenbus-notifier" in message  # what it could have named


@pytest.mark.parametrize("permission", ["scheduler:manage", "s3:*", "sqs:send:", "events:Put"])
def test_an_unknown_permission_fails_and_lists_the_vocabulary(permission):
    fn = dataclasses.replace(HEALTH, name="health2", permissions=(permission,))
    message = _error(functions=_with(fn))
    assert f"health2: unknown permission {permission!r}" in message
    assert "events:put" in message and "sqs:send:<queue>" in message


def test_a_bucket_without_a_grant_fails_as_an_implied_permission():
    fn = dataclasses.replace(HEALTH, name="health2", buckets=("exports",))
    message = _error(functions=_with(fn), buckets=(*topology.BUCKETS, topology.Bucket("exports")))
    assert "health2: unknown permission 's3:exports' (implied by the function's shape)" in message


def test_tables_streams_buckets_and_numbers_must_exist_and_make_sense():
    fn = dataclasses.replace(
        HEALTH,
        name="health2",
        tables=("nope",),
        stream="requests",
        buckets=("gone",),
        reserved_concurrency=0,
        schedule_minutes=-5,
    )
    message = _error(functions=_with(fn))
    for expected in (
        "health2: table 'nope' is not in TABLES",
        "health2: stream 'requests': that table has stream=False",
        "health2: bucket 'gone' is not in BUCKETS",
        "health2: reserved_concurrency must be a whole number >= 1, not 0",
        "health2: schedule_minutes must be a whole number >= 1, not -5",
    ):
        assert expected in message


def test_every_problem_is_listed_at_once():
    twice = _with(HEALTH)
    wrong = dataclasses.replace(HEALTH, name="health2", permissions=("scheduler:manage",))
    message = _error(functions=(*twice, wrong), authorizers={"agency": "sms_status"})
    assert "function 'health' is registered 2 times" in message
    assert "'sms_status'" in message and "'scheduler:manage'" in message
    assert message.startswith("functions/topology.py: the CDK app cannot build this:")


def test_the_stack_refuses_a_bad_setting_before_building_anything(monkeypatch):
    fn = Function(
        "health2",
        "functions.health.handler.lambda_handler",
        routes=(Route("GET", "/healthz2"),),
        permissions=("scheduler:manage",),
    )
    monkeypatch.setattr(topology, "FUNCTIONS", _with(fn))
    app = cdk.App(context={"aws:cdk:disable-asset-staging": True})
    with pytest.raises(TopologyError, match="health2: unknown permission 'scheduler:manage'"):
        CitizenBusStack(app, "Check", ENVIRONMENTS["dev"], load_catalog())


def test_no_cdk_setting_is_keyed_by_a_function_name():
    """Per-function settings live in the function's topology entry, not beside it."""
    names = {fn.name for fn in topology.FUNCTIONS}
    for module in pkgutil.iter_modules(infra.cdk.__path__, "infra.cdk."):
        loaded = importlib.import_module(module.name)
        for attribute, value in vars(loaded).items():
            if isinstance(value, dict) and not attribute.startswith("__"):
                keyed = names & {key for key in value if isinstance(key, str)}
                assert not keyed, f"{module.name}.{attribute} is keyed by functions {keyed}"

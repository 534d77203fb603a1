"""The warm-cost reference (bench/minimal.py) makes the AWS calls its function makes.

``make bench`` holds each function's warm CPU to 2x its hand-written minimal handler, which
is only a fair reference while it does the same work: the e-service's minimal handler once
skipped the "me too" query every e-service filing makes (its ratio read 2.1x for that). Here
each reference and its function file the bench's own event, recorded the way the warm bench
records them; the DynamoDB and EventBridge operations must be the same (the secret the
function reads through Powertools' cache is the one difference the reference may have: it
takes its key from the environment)."""

from __future__ import annotations

import contextlib
import io

import pytest

from bench import minimal
from bench.awscalls import AwsCalls
from bench.events import bench_event
from bench.journey import bench_environment
from bench.minimal import REFERENCES
from bench.warm import _fresh
from citizenbus.local.runtime import LambdaContext, LocalBus
from functions import topology

CHECKED = sorted(name for name in REFERENCES if bench_event(topology.function(name)).event)


@pytest.mark.parametrize("name", CHECKED)
def test_the_minimal_handler_makes_the_calls_its_function_makes(name: str) -> None:
    env = bench_environment()
    minimal._clients.clear()  # clients of an earlier test's bus would go around the recorder
    with LocalBus(env=env, public_url=env["CITIZENBUS_PUBLIC_URL"]) as bus:
        calls = AwsCalls()
        calls.install()
        event = bench_event(topology.function(name)).event
        context = LambdaContext(f"citizenbus-{name}")
        made = {}
        for who, handler in (("function", bus.handlers[name]), ("minimal", REFERENCES[name])):
            calls.mode = "record"
            calls.recorded.clear()
            with contextlib.redirect_stdout(io.StringIO()):
                handler(_fresh(event), context)
            made[who] = {f"{s}.{o}" for s, o in calls.recorded if s != "secretsmanager"}
        calls.mode = "count"
    if name != "health":  # the health check makes no AWS call; every other one does
        assert made["function"], "the recorder saw no call"
    assert made["minimal"] == made["function"]

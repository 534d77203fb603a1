"""The garbage collector is held back while a function initializes and is back after its
first invocation (functions/platform/gc_init.py), so a warm process collects its garbage.

Each case runs in a fresh interpreter: the pause happens when ``functions`` is first imported,
which in this test process happened long ago.
"""

from __future__ import annotations

import json

from tests.support.python import last_line

_PRELUDE = """
import gc, json, weakref
DEFAULT = gc.get_threshold()

class Node:
    pass

def cycle_collected_without_asking():
    # a reference cycle dropped, then ordinary allocation: only the collector can free it
    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    del a, b
    junk = [[] for _ in range(5_000)]  # kept alive: a young collection is due every 700
    del junk
    return ref() is None

class Context:
    function_name = "f"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:f"
    aws_request_id = "r"
"""


def _run(body: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(last_line(_PRELUDE + body))
    return result


def test_collection_is_back_after_a_logged_handlers_first_call() -> None:
    out = _run("""
from functions.platform.observability import logger

@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event, context):
    return {"during": list(gc.get_threshold()), "collects": cycle_collected_without_asking()}

during_init = list(gc.get_threshold())
first = handler({}, Context())
second = handler({}, Context())
print(json.dumps({
    "default": list(DEFAULT), "init": during_init, "first": first, "after": list(gc.get_threshold()),
    "collects_after": cycle_collected_without_asking(), "frozen": gc.get_freeze_count(),
    "enabled": gc.isenabled(), "second": second,
}))
""")
    assert out["init"] != out["default"], "init ran with the default thresholds"
    assert out["first"] == {"during": out["init"], "collects": False}
    assert out["after"] == out["default"]
    assert out["second"] == {"during": out["default"], "collects": True}
    assert out["collects_after"] is True
    assert out["enabled"] is True
    assert isinstance(out["frozen"], int) and out["frozen"] > 1000  # what init built


def test_collection_is_back_even_when_the_first_call_fails() -> None:
    out = _run("""
from functions.platform.observability import logger

@logger.inject_lambda_context
def handler(event, context):
    raise RuntimeError("boom")

try:
    handler({}, Context())
except RuntimeError:
    pass
print(json.dumps({"default": list(DEFAULT), "after": list(gc.get_threshold()),
                  "collects": cycle_collected_without_asking()}))
""")
    assert out["after"] == out["default"]
    assert out["collects"] is True


def test_the_health_check_resumes_too() -> None:
    out = _run("""
from functions.health.handler import lambda_handler
status = lambda_handler({}, None)["statusCode"]
print(json.dumps({"status": status, "default": list(DEFAULT), "after": list(gc.get_threshold()),
                  "name": lambda_handler.__name__}))
""")
    assert out["status"] == 200
    assert out["after"] == out["default"]
    assert out["name"] == "lambda_handler"


def test_a_process_that_never_calls_a_handler_still_collects() -> None:
    # a test run or the CLI imports functions and may never invoke one: no leak, only later
    out = _run("""
import functions
held = list(gc.get_threshold())
first = Node()
first.me = first
ref = weakref.ref(first)
del first
made = 0
while ref() is not None and made < 1_000_000:  # garbage cycles pile up until one collection
    n = Node()
    n.me = n
    made += 1
print(json.dumps({"enabled": gc.isenabled(), "held": held, "default": list(DEFAULT),
                  "collected_after": made}))
""")
    assert out["enabled"] is True
    assert out["held"] != out["default"]
    made = out["collected_after"]
    assert isinstance(made, int) and 1000 < made < 1_000_000  # later than usual, but collected

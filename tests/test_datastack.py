"""A handler's calls never thrash CPython's frame stack (functions/platform/datastack.py).

On Python 3.12 a hot call made where a frame-stack chunk ends maps, faults in and unmaps a new
chunk on every call (python/cpython#142183). The probe walks a hot loop over every depth (to
the byte, with padding frames of 0-23 locals) across a chunk's edge and counts the page faults
of 200 calls at each: from a plain frame one of the depths faults on every call (the test
would fail without the remedy, and it proves the probe finds the edge), from a frame given
room by :func:`~functions.platform.datastack.with_room` none does. Every handler's first
invocation (the cold start) runs in such a frame: ``gc_init.after_first_call`` wraps it.
"""

from __future__ import annotations

import json
import sys

import pytest

from functions.platform import datastack, gc_init
from tests.support.python import last_line

_PROBE = """
import json, resource
from functions.platform.datastack import with_room

def leaf():
    return None

def hot():
    for _ in range(200):
        leaf()

PADS = []
for k in range(24):
    names = ", ".join(f"v{i}" for i in range(k)) or "_"
    ns = {"hot": hot}
    exec(f"def pad():\\n    {names} = {'None, ' * max(k, 1)}\\n    hot()\\n", ns)
    PADS.append(ns["pad"])

def down(depth, pad):
    if depth:
        return down(depth - 1, pad)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    pad()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def scan():
    return max(down(d, pad) for d in range(300) for pad in PADS)

def plain():
    return scan()

def roomy():
    return scan()

with_room(roomy)
print(json.dumps({"plain": plain(), "room": roomy()}))
"""


@pytest.mark.skipif(datastack.FIXED, reason="CPython 3.13+ keeps a spare chunk (gh-142183)")
@pytest.mark.skipif(sys.platform != "linux", reason="page faults counted by getrusage")
def test_a_hot_loop_at_a_chunk_edge_faults_on_every_call_only_without_room() -> None:
    faults = json.loads(last_line(_PROBE))
    assert faults["plain"] >= 150  # the edge found: a fault for (nearly) every call
    assert faults["room"] < 20


def test_a_handler_s_first_call_runs_with_room_and_every_call_answers_as_before() -> None:
    def handler(event: dict[str, int], context: object) -> dict[str, int]:
        return {"doubled": event["n"] * 2}

    stack = handler.__code__.co_stacksize
    wrapped = gc_init.after_first_call(handler)
    assert wrapped({"n": 21}, None) == {"doubled": 42}
    assert wrapped({"n": 1}, None) == {"doubled": 2}
    assert handler.__code__.co_stacksize == stack  # the handler itself is left alone
    if not datastack.FIXED:  # the first call's frame, not the warm calls' (~8 µs a call)
        assert gc_init._first_call.__code__.co_stacksize >= datastack.SLOTS
        assert wrapped.__code__.co_stacksize < datastack.SLOTS

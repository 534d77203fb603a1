"""SnapStart's runtime hooks: registered where Lambda snapshots, and copies restored from one
snapshot do not share random state or AWS clients."""

from __future__ import annotations

import json

import pytest

from tests.support.python import last_line

pytest.importorskip("snapshot_restore_py")

_REGISTERED = """
import json, snapshot_restore_py
import functions
print(json.dumps({
    "before": [f.__qualname__ for f, _, _ in snapshot_restore_py.get_before_snapshot()],
    "after": [f.__qualname__ for f, _, _ in snapshot_restore_py.get_after_restore()],
}))
"""

# Lambda's SnapStart, in one process: init (importing the handler), the before-snapshot hooks,
# then the snapshot resumed twice (os.fork: both copies start from the same memory; random's
# state is put back as the snapshot held it, as os.fork re-seeds it and a restore does not),
# each copy running the after-restore hooks (unless told "off") and drawing as an invocation.
_RESTORED_TWICE = """
import json, os, random, sys
import snapshot_restore_py
import functions.web.handler
from functions.platform import aws

hooks = sys.argv[1] == "on"
for func, args, kwargs in reversed(snapshot_restore_py.get_before_snapshot()):
    func(*args, **kwargs)
primed = id(aws.dynamodb())
snapshot = random.getstate()
out = []
for _ in range(2):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        random.setstate(snapshot)
        if hooks:
            for func, args, kwargs in snapshot_restore_py.get_after_restore():
                func(*args, **kwargs)
        draw = {"jitter": random.random(), "same_client": id(aws.dynamodb()) == primed}
        os.write(write, json.dumps(draw).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    out.append(json.loads(os.read(read, 4096)))
print(json.dumps(out))
"""


def _run(code: str, *args: str, snap_start: bool = True) -> str:
    # what Lambda sets for a snapshot
    kind = "snap-start" if snap_start else None
    return last_line(code, *args, env={"AWS_LAMBDA_INITIALIZATION_TYPE": kind})


def test_hooks_are_registered_where_lambda_initializes_for_a_snapshot():
    registered = json.loads(_run(_REGISTERED))
    assert registered == {"before": ["prime"], "after": ["refresh"]}


def test_no_hooks_where_lambda_initializes_on_demand():
    registered = json.loads(_run(_REGISTERED, snap_start=False))
    assert registered == {"before": [], "after": []}


def test_copies_restored_from_one_snapshot_draw_their_own_random_and_build_their_own_clients():
    first, second = json.loads(_run(_RESTORED_TWICE, "on"))
    assert first["jitter"] != second["jitter"]
    assert not first["same_client"]
    assert not second["same_client"]


def test_without_the_hooks_the_copies_would_share_them():
    # What the hooks are for: the copies of one snapshot otherwise back off in step and send
    # on the connections of the snapshot's client.
    first, second = json.loads(_run(_RESTORED_TWICE, "off"))
    assert first["jitter"] == second["jitter"]
    assert first["same_client"]
    assert second["same_client"]

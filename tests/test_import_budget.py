"""Import budgets, measured as a ratio in one run (as Powertools tests its own imports).

Each function's handler module is imported in a fresh process, followed by what every
function that touches AWS needs anyway: ``import boto3`` and one client. The floor is a fresh
process doing only the latter. Both are timed in CPU seconds (``time.process_time``), the
smallest of a few samples, so a busy machine slows both alike and the ratio stays put.

The cold-start budget is 1.5x the floor (issue 19; ``make bench`` judges import plus first
call by the same figure). The Powertools event handler, its data classes, asyncio and
phonenumbers' catch-all ``__init__`` load only the modules used
(functions/platform/lazy_init.py), the pydantic models build their validators on first use
(``defer_build``), a function whose first call needs no model imports none, and the garbage
collector is held back until the first call ends (functions/platform/gc_init.py). Every
function is held to the budget (``KNOWN_OVER``, a non-strict xfail with its measured cause,
is empty). ``CEILING`` holds every function, known misses included, so that a miss cannot
quietly grow.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from functions import topology
from tests.support.python import last_line

SAMPLES = 6
BUDGET = 1.5
# Enforced for every function, known misses included (none today), so that none of them drifts
# far (a stray twilio or moto import alone would cross it); it was 2.5x before issue 19, 2.0x
# after its part C.
CEILING = 1.75
FLOOR = "import boto3\nboto3.client('dynamodb', region_name='eu-north-1')\n"
# function name -> its measured cause. None today: measured on 2026-11-30 (16:37 UTC, load
# average 6 on this 2-core machine, 6 samples each, the fastest kept) every function imports
# within 1.04-1.40x of the floor: eservice 1.40x, sms and voice 1.39x, app_api 1.37x,
# open_data_export 1.32x, open_data 1.31x, web 1.04x. app_api, listed before as at the line
# (1.51x once in a fresh clone's CI with both cores busy), is no heavier than eservice and
# sms, which were held all along: a load that pushed it over would push them too. Part C's
# list (8 functions at 1.40-1.56x) went with the garbage collector's pause during init
# (docs/performance.md, "part D"); the cold start (import + first call, ``make bench``)
# is another figure: docs/performance.md, "part F", says which are still over it and why.
KNOWN_OVER: dict[str, str] = {}

_PROBE = """
import json, sys, time
t0 = time.process_time()
{body}
cpu = time.process_time() - t0
print(json.dumps({{"cpu": cpu, "twilio": any(m.split(".")[0] == "twilio" for m in sys.modules)}}))
"""


def _sample(body: str) -> dict[str, float | bool]:
    # Bytecode cached as the bench's cold starts have it (bench/cold.py): a shell with
    # PYTHONDONTWRITEBYTECODE would compile every module on every sample, the project's
    # many small modules more than boto3's few large ones.
    out = last_line(_PROBE.format(body=body), env={"PYTHONDONTWRITEBYTECODE": None})
    result: dict[str, float | bool] = json.loads(out)
    return result


def _handler_body(fn: topology.Function) -> str:
    module = fn.handler.rpartition(".")[0]
    return f"import {module}\n{FLOOR}"


@cache
def handler_samples(name: str, rounds: int = 1) -> tuple[float, float, bool]:
    """(handler CPU, floor CPU, twilio loaded): the fastest of interleaved samples of each,
    ``rounds`` times :data:`SAMPLES` of them."""
    fn = topology.function(name)
    handler, floor = [], []
    for _ in range(SAMPLES * rounds):
        floor.append(_sample(FLOOR))
        handler.append(_sample(_handler_body(fn)))
    return (
        min(float(s["cpu"]) for s in handler),
        min(float(s["cpu"]) for s in floor),
        any(bool(s["twilio"]) for s in handler),
    )


def _budget_param(fn: topology.Function) -> object:
    if fn.name in KNOWN_OVER:
        return pytest.param(
            # Not strict: a ratio measured in CPU time on a busy 2-core machine wanders by
            # ~0.1x, so a function near the line would flap. CEILING still holds them all.
            fn.name,
            marks=pytest.mark.xfail(strict=False, reason=KNOWN_OVER[fn.name]),
        )
    return fn.name


@pytest.mark.parametrize("name", [_budget_param(f) for f in topology.FUNCTIONS])
def test_handler_import_within_budget_of_boto3_floor(name: str) -> None:
    cpu, floor, _ = handler_samples(name)
    if cpu / floor > BUDGET:
        # Over in the first samples: measure again with three times as many before judging
        # (a CPU ratio on a 2-core machine running the rest of the suite wanders by ~0.1x;
        # the fastest of more samples is nearer the real cost, a real regression stays over)
        cpu, floor, _ = handler_samples(name, rounds=3)
    ratio = cpu / floor
    assert ratio <= BUDGET, (
        f"{name}: importing the handler + boto3 + a client costs {ratio:.2f}x the floor "
        f"({cpu * 1000:.0f} ms vs {floor * 1000:.0f} ms CPU); budget {BUDGET}x. "
        f"Find the cost with: python -X importtime -c 'import {topology.function(name).handler.rpartition('.')[0]}'"
    )


@pytest.mark.parametrize("name", [f.name for f in topology.FUNCTIONS])
def test_no_handler_import_grows_past_the_ceiling(name: str) -> None:
    cpu, floor, _ = handler_samples(name)
    assert cpu / floor <= CEILING, (
        f"{name}: importing the handler costs {cpu / floor:.2f}x the boto3 floor, past the "
        f"{CEILING}x ceiling that holds even for the functions over the {BUDGET}x budget"
    )


@pytest.mark.parametrize("name", [f.name for f in topology.FUNCTIONS if not f.uses_twilio])
def test_functions_that_send_no_sms_never_import_twilio(name: str) -> None:
    _, _, twilio = handler_samples(name)
    assert not twilio, f"{name} does not send SMS (uses_twilio=False) but importing it loads twilio"


def test_the_floor_is_measurable() -> None:
    # The ratio means something only if the floor itself is a real cost (boto3 + a client).
    assert min(float(_sample(FLOOR)["cpu"]) for _ in range(2)) > 0.02

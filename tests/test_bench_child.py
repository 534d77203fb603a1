"""A cold-start sample runs the handler as Lambda does (bench/_child.py): AWS's runtime
interface client imports it and hands it the event, and the sample reports what it answered."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench.events import bench_event
from functions import topology
from tests.support.python import ROOT, run

CHILD = ROOT / "bench" / "_child.py"


def _sample(*args: str, direct: bool = False) -> subprocess.CompletedProcess[str]:
    return run(
        [str(CHILD), *args], env={"CITIZENBUS_BENCH_DIRECT": "1" if direct else None}, check=False
    )


def _result(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result: dict[str, object] = json.loads(lines[-1])
    return result


@pytest.mark.parametrize("direct", [False, True], ids=["runtime", "direct"])
def test_the_handler_answers_through_the_lambda_runtime(tmp_path: Path, direct: bool) -> None:
    # direct: where awslambdaric is not installed (Linux wheels only), from the bench's frames
    fn = topology.function("health")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(bench_event(fn).event), encoding="utf-8")
    result = _result(_sample("handler", fn.handler, str(event), fn.name, direct=direct))
    assert result["runtime"] == ("direct" if direct else "awslambdaric")
    assert result["outcome"] == 200
    assert result["clients"] == []
    assert float(result["cpu_ms"]) > 0
    assert float(result["import_ms"]) <= float(result["total_ms"])
    # the runtime's own modules were loaded by the sample, as in Lambda
    assert int(result["modules"]) > 50  # type: ignore[call-overload]


def test_an_import_only_sample_and_the_floor_stop_after_init() -> None:
    fn = topology.function("erasure")
    result = _result(_sample("handler", fn.handler, "-", fn.name))
    assert result["outcome"] is None and result["first_call_ms"] == 0
    floor = _result(_sample("floor", ""))
    assert floor["clients"] == [] and float(floor["cpu_ms"]) > 0


@pytest.mark.parametrize("direct", [False, True], ids=["runtime", "direct"])
def test_a_handler_that_cannot_be_imported_fails_the_sample(direct: bool) -> None:
    target = "functions.no_such_function.handler.lambda_handler"
    proc = _sample("handler", target, "-", "none", direct=direct)
    assert proc.returncode != 0
    assert "init failed" in proc.stderr and "No module named" in proc.stderr


def test_a_filing_answers_as_deployed_with_clients_from_botocore(tmp_path: Path) -> None:
    # The e-service as `make bench` starts it: its template's environment, its secrets read
    # from Secrets Manager, AWS a moto server. It files (303) with clients made from botocore,
    # boto3's __init__ never run (functions/platform/aws.py); the floor's boto3 is.
    from bench.cold import child_env, moto_server, provision_at, template_environment

    fn = topology.function("eservice")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(bench_event(fn).event), encoding="utf-8")
    with moto_server() as (endpoint, _):
        env = child_env(endpoint) | template_environment(fn.name, provision_at(endpoint))
        args = [str(CHILD), "handler", fn.handler, str(event), fn.name]
        result = _result(run(args, env=dict(env), check=False))
        floor = _result(run([str(CHILD), "floor", "dynamodb"], env=dict(env), check=False))
    assert result["outcome"] == 303
    assert result["clients"] == ["dynamodb", "secretsmanager"]
    assert result["boto3"] is False and floor["boto3"] is True

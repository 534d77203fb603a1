"""Lambda assets carry their bytecode, so a cold start compiles nothing.

Lambda's ``/var/task`` (and a layer's ``/opt``) is read-only: Python cannot write the
``__pycache__`` it would otherwise make on first import, so an asset without it compiles
every module it imports on every cold start. ``infra/cdk/assets.py`` compiles each function's
code (and each layer) with ``--invalidation-mode unchecked-hash``: the bytecode is loaded
without comparing the source's mtime (every asset file has one fixed mtime) and is the same
bytes on every build, so an unchanged function keeps its asset hash. Built here without a
synth (a few seconds).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cdk import assets
from infra.cdk.constants import LAMBDA_PYTHON

pytestmark = pytest.mark.skipif(
    f"{sys.version_info[0]}.{sys.version_info[1]}" != LAMBDA_PYTHON,
    reason="bytecode is compiled only by a CPython of Lambda's version",
)


def _pyc(source: Path) -> Path:
    tag = sys.implementation.cache_tag
    return source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"


def test_every_module_of_an_asset_has_unchecked_hash_bytecode_built_the_same_twice(
    tmp_path: Path,
) -> None:
    first = assets.build_function("sms", build_dir=tmp_path / "a")
    second = assets.build_function("sms", build_dir=tmp_path / "b")
    sources = sorted(first.rglob("*.py"))
    assert len(sources) > 20
    for source in sources:
        pyc = _pyc(source)
        header = pyc.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, pyc
        # PEP 552 flags: bit 0 hash-based, bit 1 check_source; unchecked is 0b01
        assert int.from_bytes(header[4:8], "little") == 0b01, pyc
        twin = second / pyc.relative_to(first)
        assert twin.read_bytes() == pyc.read_bytes(), f"{pyc} differs between two builds"


def test_the_asset_runs_from_its_bytecode_without_compiling(tmp_path: Path) -> None:
    built = assets.build_function("health", build_dir=tmp_path)
    module = built / "functions" / "platform" / "gc_init.py"
    # a source Python would have to compile now fails to: the import must not read it
    module.write_text(module.read_text() + "\nthis is not python (\n")
    env = dict(os.environ, PYTHONPATH=str(built), PYTHONDONTWRITEBYTECODE="1")
    code = "import functions.platform.gc_init as g; print(g.INIT_THRESHOLD)"

    def imported() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )

    answer = imported()
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "(200000, 100, 100)"
    # and without the bytecode the same asset would fail: the check above can fail
    _pyc(module).unlink()
    again = imported()
    assert again.returncode != 0 and "SyntaxError" in again.stderr

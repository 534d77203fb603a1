"""One Python: the Lambda runtime's version is the one the tests, the dev environment and CI run."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_tests_run_on_the_lambda_runtimes_python() -> None:
    wanted = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == wanted, (
        f"the suite runs on Python {sys.version}, the Lambda runtime is {wanted}: "
        "run it through make (which picks that interpreter)"
    )


def test_the_tools_target_the_same_python() -> None:
    import tomllib

    wanted = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["mypy"]["python_version"] == wanted
    assert project["tool"]["ruff"]["target-version"] == "py" + wanted.replace(".", "")
    assert project["project"]["requires-python"] == f">={wanted}"

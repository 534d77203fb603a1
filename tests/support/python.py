"""A fresh Python process on the project, as a Lambda cold start would be one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(
    argv: list[str], env: dict[str, str | None] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``python argv…`` in a new process on the project (``PYTHONPATH`` the repository,
    region eu-north-1) with ``env``'s changes to this environment (None unsets a variable)."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT), AWS_DEFAULT_REGION="eu-north-1")
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=120,
        check=check,
    )


def last_line(code: str, *args: str, env: dict[str, str | None] | None = None) -> str:
    """Run ``python -c code args`` (as :func:`run`); the last line it printed (failing the
    test if it failed)."""
    return run(["-c", code, *args], env=env).stdout.strip().splitlines()[-1]

"""A fresh Python process on the project, as a Lambda cold start would be one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def last_line(code: str, *args: str, env: dict[str, str | None] | None = None) -> str:
    """Run ``python -c code args`` in a new process on the project (``PYTHONPATH`` the
    repository, region eu-north-1) with ``env``'s changes to this environment (None unsets a
    variable); the last line it printed (failing the test if it failed)."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT), AWS_DEFAULT_REGION="eu-north-1")
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return proc.stdout.strip().splitlines()[-1]

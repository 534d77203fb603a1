"""A real ``citizenbus serve`` in a subprocess, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def citizenbus_serve(host: str = "127.0.0.1", aws_port: int = 0) -> Iterator[tuple[str, str]]:
    """A real ``citizenbus serve`` on a free port: (base URL on loopback, start-up banner).

    Started as a newcomer would, with none of the test process's AWS or citizenbus settings;
    ``host`` is its ``--host`` (``0.0.0.0`` serves beyond loopback); ``aws_port`` its
    ``--aws-port`` (0, the default here: off, so parallel runs never contend for 4566).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CITIZENBUS_"))}
    env.pop("TWILIO_AUTH_TOKEN", None)
    command = [sys.executable, "-m", "citizenbus.cli", "serve", "--host", host]
    command += ["--port", str(port), "--aws-port", str(aws_port)]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        assert proc.stdout is not None
        while "Press Ctrl+C" not in banner:
            line = proc.stdout.readline()
            assert line, f"serve exited early: {banner}"
            banner += line
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
        yield f"http://127.0.0.1:{port}", banner
    finally:
        proc.terminate()
        proc.wait(timeout=10)

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
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """A ``citizenbus serve`` subprocess (started as a newcomer would: none of the test
    process's AWS or citizenbus settings) on a free loopback port, its output kept;
    ``aws_port`` is its ``--aws-port`` (0, the default here: off, so parallel runs never
    contend for 4566)."""

    def __init__(self, *args: str, host: str = "127.0.0.1", aws_port: int = 0) -> None:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CITIZENBUS_"))}
        env.pop("TWILIO_AUTH_TOKEN", None)
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "citizenbus.cli",
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                "--aws-port",
                str(aws_port),
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        while "Press Ctrl+C" not in self.banner:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(timeout=10)
                raise AssertionError(f"serve exited early ({self.proc.returncode}): {self.banner}")
            self.lines.append(line)
        self._drain = threading.Thread(target=self._read, daemon=True)  # keep the pipe drained
        self._drain.start()

    @property
    def banner(self) -> str:
        return "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self, kill: bool = False) -> int:
        """SIGTERM (a clean stop) or SIGKILL; the exit code. The output is all read."""
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        code = self.proc.wait(timeout=60)
        self._drain.join(timeout=10)
        return code


@contextmanager
def citizenbus_serve(host: str = "127.0.0.1", aws_port: int = 0) -> Iterator[tuple[str, str]]:
    """A real ``citizenbus serve`` on a free port: (base URL on loopback, start-up banner).

    Started as a newcomer would, with none of the test process's AWS or citizenbus settings;
    ``host`` is its ``--host`` (``0.0.0.0`` serves beyond loopback); ``aws_port`` its
    ``--aws-port`` (0, the default here: off, so parallel runs never contend for 4566).
    """
    served = Served(host=host, aws_port=aws_port)
    try:
        yield served.base, served.banner
    finally:
        served.stop()


@contextmanager
def in_process(token: str) -> Iterator[tuple[str, Any]]:
    """A started ``LocalBus`` behind ``citizenbus serve``'s HTTP server in this process, on a
    free loopback port, its operator routes open to ``token``: (base URL, the bus). The caller
    sets ``CITIZENBUS_OPERATOR_TOKEN`` to the same token (as ``serve`` reads it)."""
    from citizenbus.local.runtime import LocalBus
    from citizenbus.local.server import make_server

    with LocalBus() as bus:
        server = make_server(bus, "127.0.0.1", free_port(), token)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", bus
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

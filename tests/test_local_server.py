"""``citizenbus serve`` over real HTTP on loopback, as a newcomer would use it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.error import HTTPError

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_files_a_form_and_routes_it() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "citizenbus.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        banner = ""
        assert proc.stdout is not None
        while "Press Ctrl+C" not in banner:
            line = proc.stdout.readline()
            assert line, f"serve exited early: {banner}"
            banner += line
        assert "/healthz" in banner and "CITIZENBUS_JWT_SECRET" in banner
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as r:
            assert r.status == 200 and json.load(r) == {"status": "ok"}
        req = urllib.request.Request(
            f"{base}/eservice/v1/forms/street-damage",
            data=b"address=Storgatan+1&phone=0701234567",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 201
            reference = json.load(r)["reference"]
        deadline = time.monotonic() + 10
        subjects: list[str] = []
        while time.monotonic() < deadline and reference not in subjects:
            with urllib.request.urlopen(f"{base}/_local/queues/streets", timeout=5) as r:
                subjects = [m["detail"]["subject"] for m in json.load(r)]
            time.sleep(0.1)
        assert subjects == [reference]
        try:
            urllib.request.urlopen(f"{base}/app/v1/requests", timeout=5)
            raise AssertionError("expected 401")
        except HTTPError as err:
            assert err.code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)

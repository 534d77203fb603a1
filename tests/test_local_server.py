"""``citizenbus serve`` over real HTTP on loopback, as a newcomer would use it."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from urllib.error import HTTPError

from tests.support.serve import citizenbus_serve

ROOT = Path(__file__).resolve().parent.parent


def test_serve_answers_health_files_a_form_and_routes_it() -> None:
    with citizenbus_serve() as (base, banner):
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

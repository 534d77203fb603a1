"""The phone channels against ``citizenbus serve`` over real HTTP, signed like Twilio."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

from citizenbus.local.phone import call_params, post, sid, sms_params
from functions.platform.settings import LOCAL_TWILIO_AUTH_TOKEN
from tests.support.serve import citizenbus_serve

ROOT = Path(__file__).resolve().parent.parent


def test_serve_takes_signed_sms_and_calls_and_routes_them() -> None:
    with citizenbus_serve() as (base, banner):
        assert f"TWILIO_AUTH_TOKEN      = {LOCAL_TWILIO_AUTH_TOKEN}" in banner
        assert f"{base}/channels/sms" in banner and f"{base}/channels/voice" in banner

        status, twiml = post(f"{base}/channels/sms", sms_params("+46701234567", "GATA Storgatan 1"))
        assert status == 200
        text = ET.fromstring(twiml).find("Message").text or ""
        reference = re.search(r"\d{10}", text).group(0)
        forged, _ = post(f"{base}/channels/sms", sms_params("+46701234567", "GATA X 1"), "wrong")
        assert forged == 403

        status, twiml = post(f"{base}/channels/voice", call_params("+46701234567", sid("CA")))
        assert status == 200 and "Välkommen" in twiml

        # The phone simulator a developer uses by hand.
        cli = subprocess.run(
            [sys.executable, "-m", "citizenbus.local.phone", "sms", "+46701234567", "HJÄLP"],
            cwd=ROOT,
            env={
                **{
                    k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CITIZENBUS_"))
                },
                "TWILIO_AUTH_TOKEN": LOCAL_TWILIO_AUTH_TOKEN,
                "CITIZENBUS_PUBLIC_URL": base,
            },
            capture_output=True,
            text=True,
            check=True,
        )
        assert "GATA <adress>" in cli.stdout

        deadline = time.monotonic() + 10
        subjects: list[str] = []
        while time.monotonic() < deadline and reference not in subjects:
            with urllib.request.urlopen(f"{base}/_local/queues/streets", timeout=5) as r:
                subjects = [m["detail"]["subject"] for m in json.load(r)]
            time.sleep(0.1)
        assert subjects == [reference]

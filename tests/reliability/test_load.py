"""A bounded load test of ``citizenbus serve`` on loopback: mixed channels, zero lost.

A real ``citizenbus serve`` runs as a subprocess on a free port. ``CITIZENBUS_LOAD_REQUESTS``
requests (default 100; ``make soak`` sends 1000) are filed by ``CITIZENBUS_LOAD_WORKERS``
concurrent clients (default 8) over HTTP, spread over every channel: signed SMS, whole phone
calls (each step of the menu is one HTTP request), the app with JWTs, web e-service forms and
Open311. Then every reference must appear, once, on its agency's queue within the time limit.
Throughput and latency percentiles are printed and written to ``test-output/``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from citizenbus.local.phone import call_params, post, sid, sms_params
from tests.support.serve import citizenbus_serve
from tests.support.tokens import make_token

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = int(os.environ.get("CITIZENBUS_LOAD_REQUESTS", "100"))
WORKERS = int(os.environ.get("CITIZENBUS_LOAD_WORKERS", "8"))
TIME_LIMIT = float(os.environ.get("CITIZENBUS_LOAD_SECONDS", "300"))
CHANNELS = ("sms", "voice", "app", "eservice", "open311")
AGENCY = {
    "sms": "streets",
    "voice": "waste",
    "app": "tax",
    "eservice": "streets",
    "open311": "waste",
}
REFERENCE = re.compile(r"\b\d{10}\b")


class Client:
    """One HTTP client's view: every request timed, every status counted."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.lock = threading.Lock()

    def _record(self, started: float, status: int) -> None:
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
            self.statuses[status] += 1

    def http(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(
            self.base + path, data=body, headers=headers, method=method
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        self._record(started, status)
        return status, text

    def twilio(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        started = time.perf_counter()
        status, text = post(url, params)
        self._record(started, status)
        return status, text

    # -- one request per channel ---------------------------------------------------------------
    def file(self, n: int) -> tuple[str, str]:
        channel = CHANNELS[n % len(CHANNELS)]
        reference = getattr(self, f"file_{channel}")(n)
        assert REFERENCE.fullmatch(reference), (channel, reference)
        return channel, reference

    def file_sms(self, n: int) -> str:
        status, twiml = self.twilio(
            f"{self.base}/channels/sms", sms_params(phone(n), f"GATA Storgatan {n}")
        )
        assert status == 200, twiml
        match = REFERENCE.search(twiml)
        assert match, twiml
        return match.group(0)

    def file_voice(self, n: int) -> str:
        params = call_params(phone(n), sid("CA"))
        status, twiml = self.twilio(f"{self.base}/channels/voice", params)
        for extra in (
            {"Digits": "2"},
            {"Digits": "3"},
            {"SpeechResult": f"Sopvägen {n}"},
            {"Digits": "1"},
        ):
            assert status == 200, twiml
            gather = ET.fromstring(twiml).find("Gather")
            assert gather is not None, twiml
            status, twiml = self.twilio(gather.attrib["action"], params | extra)
        said = " ".join(s.text or "" for s in ET.fromstring(twiml).iter("Say"))
        digits = re.search(r"((?:\d, ){9}\d)", said)
        assert digits, said
        return digits.group(1).replace(", ", "")

    def file_app(self, n: int) -> str:
        headers = {
            "Authorization": f"Bearer {make_token(f'load-{n}')}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        body = {"service_code": "tax-return-approve", "attributes": {"personal_code": f"{n:08d}"}}
        status, text = self.http("POST", "/app/v1/requests", json.dumps(body).encode(), headers)
        assert status == 201, text
        return str(json.loads(text)["reference"])

    def file_eservice(self, n: int) -> str:
        body = {
            "address": f"Storgatan {n}",
            "email": f"load{n}@example.se",
            "notify_by": "email",
            "consent": "true",
        }
        status, text = self.http(
            "POST",
            "/eservice/v1/forms/street-damage",
            urlencode(body).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        assert status == 201, text
        return str(json.loads(text)["reference"])

    def file_open311(self, n: int) -> str:
        form = {
            "api_key": "local-open311-key",
            "service_code": "missed-waste-collection",
            "address_string": f"Sopvägen {n}",
            "email": f"o311-{n}@example.se",
        }
        status, text = self.http(
            "POST",
            "/open311/v2/requests.json",
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 201, text
        return str(json.loads(text)[0]["service_request_id"])


def phone(n: int) -> str:
    return f"+4673{n:07d}"


@pytest.fixture
def serve() -> Iterator[str]:
    with citizenbus_serve() as (base, _):
        yield base


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def test_mixed_traffic_on_loopback_loses_nothing(serve: str) -> None:
    client = Client(serve)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        filed = list(pool.map(client.file, range(REQUESTS)))
    filing_seconds = time.perf_counter() - started
    assert not [s for s in client.statuses if s >= 500], client.statuses

    # Zero lost: every reference reaches its agency's queue, once.
    wanted: dict[str, set[str]] = {}
    for channel, reference in filed:
        wanted.setdefault(AGENCY[channel], set()).add(reference)
    assert sum(len(v) for v in wanted.values()) == REQUESTS, "two filings got one reference"
    deadline = started + TIME_LIMIT
    missing: dict[str, set[str]] = dict(wanted)
    seen: dict[str, Counter[str]] = {}
    while missing and time.perf_counter() < deadline:
        for agency in list(missing):
            with urllib.request.urlopen(f"{serve}/_local/queues/{agency}", timeout=60) as r:
                seen[agency] = Counter(
                    m["detail"]["subject"]
                    for m in json.load(r)
                    if m["detail"]["type"].endswith("submitted.v1")
                )
            missing[agency] = wanted[agency] - set(seen[agency])
            if not missing[agency]:
                del missing[agency]
        time.sleep(0.2)
    routed_seconds = time.perf_counter() - started
    lost = sum(len(v) for v in missing.values())
    doubled = sum(c - 1 for counts in seen.values() for c in counts.values() if c > 1)
    report = {
        "requests_filed": REQUESTS,
        "by_channel": dict(Counter(c for c, _ in filed)),
        "workers": WORKERS,
        "http_requests": len(client.latencies),
        "http_statuses": {str(k): v for k, v in sorted(client.statuses.items())},
        "filing_seconds": round(filing_seconds, 1),
        "requests_per_second": round(REQUESTS / filing_seconds, 1),
        "http_requests_per_second": round(len(client.latencies) / filing_seconds, 1),
        "latency_ms": {
            "p50": round(statistics.median(client.latencies) * 1000, 1),
            "p95": round(percentile(client.latencies, 95) * 1000, 1),
            "p99": round(percentile(client.latencies, 99) * 1000, 1),
            "max": round(max(client.latencies) * 1000, 1),
        },
        "all_routed_after_seconds": round(routed_seconds, 1),
        "lost": lost,
        "doubled": doubled,
    }
    print(json.dumps(report, indent=2))
    out = ROOT / "test-output" / f"load-{REQUESTS}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    assert lost == 0, f"{lost} requests never reached their agency within {TIME_LIMIT} s"
    assert doubled == 0

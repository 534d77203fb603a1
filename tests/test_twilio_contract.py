"""Outbound SMS against Twilio's real contract: a Prism mock of Twilio's OpenAPI description.

The mock validates every request against ``../shared/twilio/twilio_api_v2010.json`` and
answers with Twilio's own examples, so a request Twilio would refuse fails here too. The test
installs Prism from npm (once, into ``.tools/prism``), starts it on a free port and stops it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from citizenbus.local.runtime import LocalBus
from tests.support.serve import free_port

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared" / "twilio" / "twilio_api_v2010.json"
PRISM = ROOT / ".tools" / "prism" / "node_modules" / ".bin" / "prism"


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    if not SPEC.exists():
        pytest.skip(f"Twilio's OpenAPI description is not at {SPEC}")
    if not PRISM.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the Prism mock"
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(PRISM.parents[2]),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "@stoplight/prism-cli@5",
            ],
            check=True,
            timeout=300,
        )
    port = free_port()
    proc = subprocess.Popen(
        [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, "prism exited"
                time.sleep(0.3)
        else:
            raise AssertionError("prism did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def twilio_env(prism: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from citizenbus.local.twilio_http import RedirectingHttpClient
    from functions.platform import process

    # Outside the local bus the local default token is refused: give the SDK a token of its own
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "contract-test-token")
    process.reset()
    process.inject(twilio_http_client=RedirectingHttpClient(prism))
    yield
    process.reset()


def test_an_sms_the_sdk_sends_is_one_twilio_accepts(twilio_env: None) -> None:
    from functions.notifier import senders

    sid = senders.send_sms(
        "+46701234567",
        "Ditt ärende 1234567897 handläggs nu.",
        "https://bus.example/channels/sms/status",
    )
    assert sid.startswith("SM")


def test_a_request_twilio_would_refuse_fails_our_test_too(
    twilio_env: None, prism: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from citizenbus.local.twilio_http import RedirectingHttpClient
    from functions.notifier import senders
    from functions.platform import process

    # A misconfigured Messaging Service SID (Twilio's are MG + 32 hex digits) is refused (422)
    # by the mock as Twilio would refuse it: a permanent failure, not something to retry.
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", "MG123")
    process.inject(twilio_http_client=RedirectingHttpClient(prism))  # settings read anew
    with pytest.raises(senders.SendFailed) as refused:
        senders.send_sms("+46701234567", "Hej", None)
    assert not refused.value.retryable
    assert "422" in str(refused.value)


def test_the_notifier_sends_through_the_real_sdk_to_the_mock(prism: str) -> None:
    from citizenbus.local.twilio_http import RedirectingHttpClient

    with LocalBus(twilio_http=RedirectingHttpClient(prism)) as bus:
        response = bus.request(
            "POST",
            "/eservice/v1/forms/street-damage",
            json_body={
                "address": "Storgatan 1",
                "phone": "0701234567",
                "notify_by": "sms",
                "consent": True,
            },
        )
        assert response.status == 201
        bus.pump()
        import boto3

        items = boto3.client("dynamodb").scan(TableName="citizenbus-citizens")["Items"]
        sent = [i for i in items if i["pk"]["S"].startswith("message#")]
        assert [i["channel"]["S"] for i in sent] == ["sms"]
        assert sent[0]["pk"]["S"].startswith("message#SM")  # Twilio's example message sid

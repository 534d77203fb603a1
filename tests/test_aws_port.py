"""``citizenbus serve --aws-port``: the bus's own embedded AWS over HTTP, for the AWS CLI, stock
boto3 and the two example consumers (an agency's SQS queue, an agency's own EventBridge rule)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError

import boto3
import pytest

from tests.support.serve import ROOT, citizenbus_serve, free_port

STREETS_KEY = "local-streets-key"
SUBMITTED = "org.citizenbus.request.submitted.v1"


@dataclass
class Served:
    base: str  # the bus
    aws: str  # the embedded AWS
    banner: str

    def env(self) -> dict[str, str]:
        """What the banner tells a developer to export, and nothing of this test's own AWS."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CITIZENBUS_"))}
        return env | {
            "AWS_ENDPOINT_URL": self.aws,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "eu-north-1",
        }

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.aws,
            region_name="eu-north-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    aws_port = free_port()
    with citizenbus_serve(aws_port=aws_port) as (base, banner):
        yield Served(base, f"http://127.0.0.1:{aws_port}", banner)


def file_request(base: str) -> str:
    """A street-damage report through the e-service form, over HTTP; its reference."""
    request = urllib.request.Request(
        f"{base}/eservice/v1/forms/street-damage",
        data=b"address=Storgatan+1&phone=0701234567",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 201
        return str(json.load(r)["reference"])


def example(served: Served, script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=ROOT,
        env=served.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def raw(url: str, headers: dict[str, str], method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except HTTPError as err:
        return err.code, err.read().decode()


def test_the_banner_says_how_and_the_aws_cli_calls_see_the_bus_own_state(served: Served) -> None:
    assert f"export AWS_ENDPOINT_URL={served.aws}" in served.banner
    assert "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local" in served.banner
    assert "AWS_DEFAULT_REGION=eu-north-1" in served.banner
    # The tables the bus created in-process, listed through the port (aws dynamodb list-tables).
    tables = served.client("dynamodb").list_tables()["TableNames"]
    assert {"citizenbus-requests", "citizenbus-outbox"} <= set(tables)
    assert "citizenbus" in [
        b["Name"] for b in served.client("events").list_event_buses()["EventBuses"]
    ]
    # Queue URLs point at the port, so a client can use them as they come.
    url = served.client("sqs").get_queue_url(QueueName="citizenbus-agency-streets")["QueueUrl"]
    assert url == f"{served.aws}/123456789012/citizenbus-agency-streets"


def test_the_sqs_consumer_and_an_own_rule_consumer_receive_a_request_filed_over_http(
    served: Served,
) -> None:
    own = example(
        served,
        "own_rule_consumer.py",
        *("--agency", "streets", "--name", "streets-test-rule", "--type", SUBMITTED),
        *("--count", "1", "--wait", "1", "--cleanup"),
    )
    assert own.stdout is not None
    ready = own.stdout.readline()  # the rule and its queue exist once this line is out
    assert "rule streets-test-rule on bus citizenbus" in ready, ready

    reference = file_request(served.base)

    sqs = example(
        served,
        "sqs_consumer.py",
        *("--agency", "streets", "--api", served.base, "--key", STREETS_KEY),
        *("--count", "1", "--wait", "1"),
    )
    assert f"{SUBMITTED} {reference}" in finished(sqs)
    assert f"{SUBMITTED} {reference}" in finished(own)

    # The SQS consumer posted the status back over the agency API ...
    request = urllib.request.Request(
        f"{served.base}/agency/v1/requests/{reference}",
        headers={"Authorization": f"Bearer {STREETS_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        assert json.load(r)["status"] == "in_progress"
    # ... and deleted what it took: the submitted event is gone from the agency queue.
    with urllib.request.urlopen(f"{served.base}/_local/queues/streets", timeout=10) as r:
        waiting = [(m["detail-type"], m["detail"]["subject"]) for m in json.load(r)]
    assert (SUBMITTED, reference) not in waiting
    # --cleanup removed the consumer's own rule and queues, the bus's rules stay.
    rules = [
        r["Name"] for r in served.client("events").list_rules(EventBusName="citizenbus")["Rules"]
    ]
    assert "streets-test-rule" not in rules and "citizenbus-to-streets" in rules


def test_browsers_rebinding_pages_unsigned_calls_and_moto_reset_are_refused(
    served: Served,
) -> None:
    signed = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/eu-north-1/sqs/aws4_request"
    }
    # A web page's fetch (it carries Origin) and a CORS preflight: refused.
    status, body = raw(f"{served.aws}/", {**signed, "Origin": "https://evil.example"})
    assert status == 403 and "browsers" in body
    assert raw(f"{served.aws}/", {"Origin": "https://evil.example"}, "OPTIONS")[0] == 403
    # DNS rebinding: the page's own name in Host.
    host = {**signed, "Host": f"evil.example:{served.aws.rsplit(':', 1)[1]}"}
    assert raw(f"{served.aws}/", host)[0] == 421
    # No signature (what an <img> or a form could send): refused.
    status, body = raw(f"{served.aws}/?Action=ListQueues", {})
    assert status == 403 and "sign the request" in body
    # moto's reset would take the bus's tables away: off, and the tables are still there.
    assert raw(f"{served.aws}/moto-api/reset", signed, "POST")[0] == 403
    assert "citizenbus-requests" in served.client("dynamodb").list_tables()["TableNames"]


def test_a_busy_aws_port_is_a_plain_error_and_the_bus_does_not_start() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        ports = ["--port", str(free_port()), "--aws-port", str(busy)]
        result = subprocess.run(
            [sys.executable, "-m", "citizenbus.cli", "serve", *ports],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{busy}" in result.stderr and "in use" in result.stderr
    assert "--aws-port" in result.stderr and "Traceback" not in result.stderr
    assert "Press Ctrl+C" not in result.stdout  # it stopped before starting the bus


def test_beyond_loopback_the_banner_warns_that_the_aws_port_is_open_to_all() -> None:
    aws_port = free_port()
    with citizenbus_serve(host="0.0.0.0", aws_port=aws_port) as (_, banner):
        assert f"embedded AWS on 0.0.0.0:{aws_port}" in banner
        assert "without authentication" in banner and "--aws-port 0" in banner
        assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{aws_port}" in banner

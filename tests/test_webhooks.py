"""Webhook subscriptions and delivery: signed CloudEvents, retries, the DLQ and redrive."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks import Webhook, WebhookVerificationError

from citizenbus import cli
from citizenbus.local.runtime import LocalBus
from citizenbus.local.server import make_server
from functions.domain.agencies.routing import DELIVERY_MAX_RECEIVES, delivery_dlq, delivery_queue
from functions.domain.agencies.urls import UnsafeUrl, check_url
from schemas.events import STATUS_CHANGED, SUBMITTED
from tests.support.bus import load_event
from tests.support.tokens import KEYS
from tests.support.webhooks import FAST, file


class Receiver:
    """An agency's HTTP endpoint on 127.0.0.1 that records every POST it gets."""

    def __init__(self) -> None:
        self.status = 204
        self.posts: list[tuple[str, dict[str, str], bytes, int]] = []  # path, headers, body, answer
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.status
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.posts.append((self.path, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def accepted(self, path: str | None = None) -> list[tuple[dict[str, str], bytes]]:
        return [
            (h, b) for p, h, b, s in self.posts if 200 <= s < 300 and (path is None or p == path)
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fast_bus() -> Iterator[LocalBus]:
    with LocalBus(env=FAST) as local:
        yield local


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def subscribe(bus: LocalBus, agency: str, url: str, types: list[str] | None = None) -> str:
    response = bus.request(
        "PUT",
        "/agency/v1/subscriptions",
        headers=KEYS[agency],
        json_body={"url": url, "types": types or [SUBMITTED, STATUS_CHANGED]},
    )
    assert response.status == 200, response.text
    secret: str = response.json()["secret"]
    assert secret.startswith("whsec_")
    return secret


def parse(headers: dict[str, str], body: bytes) -> Any:
    return from_http(HTTPMessage(headers, body), JSONFormat())


def test_each_agency_receives_only_its_own_events_signed_and_parseable(
    fast_bus: LocalBus, receiver: Receiver
) -> None:
    streets_secret = subscribe(fast_bus, "streets", receiver.url("/streets"))
    waste_secret = subscribe(fast_bus, "waste", receiver.url("/waste"))
    street = file(fast_bus, "street-damage", {"address": "Storgatan 1"})
    waste = file(fast_bus, "missed-waste-collection", {"address": "Sopvägen 2"})
    file(fast_bus, "tax-return-approve", {"personal_code": "12345678"})
    fast_bus.pump()

    for path, secret, other, reference, service in (
        ("/streets", streets_secret, waste_secret, street, "street-damage"),
        ("/waste", waste_secret, streets_secret, waste, "missed-waste-collection"),
    ):
        deliveries = receiver.accepted(path)
        assert len(deliveries) == 1
        headers, body = deliveries[0]
        assert headers["content-type"] == "application/cloudevents+json"
        Webhook(secret).verify(body, headers)  # raises when the signature is wrong
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(body, headers)
        event = parse(headers, body)
        assert event.get_type() == SUBMITTED
        assert event.get_subject() == reference
        assert headers["webhook-id"] == event.get_id()
        assert event.get_data()["service_code"] == service
        assert event.get_extension("dataclassification") == "internal"
        assert event.get_extension("dataregulation") == "GDPR"
        # Thin events: no contact details or personal attributes on the wire.
        assert b"701234567" not in body and b"anna@" not in body and b"12345678" not in body
    # Tax did not subscribe a webhook: nothing POSTed, and its own queue still has the event.
    assert {p for p, *_ in receiver.posts} == {"/streets", "/waste"}
    assert len(fast_bus.queue_messages("citizenbus-agency-tax")) == 1


def test_a_receiver_down_for_a_while_gets_the_event_once_it_is_back(
    fast_bus: LocalBus, receiver: Receiver
) -> None:
    secret = subscribe(fast_bus, "streets", receiver.url("/hook"))
    receiver.status = 503
    reference = file(fast_bus, "street-damage", {"address": "Storgatan 1"})
    fast_bus.pump()
    fast_bus.pump()
    failed = len(receiver.posts)
    assert failed >= 4  # two in-invocation attempts per receive, two receives
    assert not receiver.accepted()
    assert len(fast_bus.queue_messages(delivery_queue("streets"))) == 1

    receiver.status = 200
    fast_bus.pump()
    fast_bus.pump()
    (headers, body), *more = receiver.accepted()
    assert not more
    assert parse(headers, body).get_subject() == reference
    Webhook(secret).verify(body, headers)
    # Every attempt carried the same webhook-id (the CloudEvent id), so a receiver can dedupe.
    assert {h["webhook-id"] for _, h, _, _ in receiver.posts} == {headers["webhook-id"]}
    assert fast_bus.queue_messages(delivery_queue("streets")) == []


def test_down_for_good_waits_in_the_dlq_and_redrive_delivers_it(
    fast_bus: LocalBus, receiver: Receiver
) -> None:
    subscribe(fast_bus, "streets", receiver.url("/hook"))
    receiver.status = 500
    reference = file(fast_bus, "street-damage", {"address": "Storgatan 1"})
    for _ in range(DELIVERY_MAX_RECEIVES + 2):
        fast_bus.pump()
    assert not receiver.accepted()
    waiting = fast_bus.queue_messages(delivery_dlq("streets"))
    assert [m["detail"]["subject"] for m in waiting] == [reference]
    assert fast_bus.queue_messages(delivery_queue("streets")) == []

    receiver.status = 204
    fast_bus.pump()
    assert not receiver.accepted()  # nothing moves by itself out of the DLQ
    assert fast_bus.invoke("redrive", {"agency": "streets"}) == {"moved": {"streets": 1}}
    assert fast_bus.invoke("redrive", {"agency": "nobody"})["errors"][0]["field"] == "agency"
    fast_bus.pump()
    (headers, body), *more = receiver.accepted()
    assert not more and parse(headers, body).get_subject() == reference
    assert fast_bus.queue_messages(delivery_dlq("streets")) == []


def test_citizenbus_redrive_against_the_local_bus(
    fast_bus: LocalBus, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITIZENBUS_OPERATOR_TOKEN", "operator-token-for-this-test")
    subscribe(fast_bus, "waste", receiver.url("/hook"))
    receiver.status = 503
    reference = file(fast_bus, "missed-waste-collection", {"address": "Sopvägen 2"})
    for _ in range(DELIVERY_MAX_RECEIVES + 2):
        fast_bus.pump()
    assert len(fast_bus.queue_messages(delivery_dlq("waste"))) == 1
    server = make_server(fast_bus, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert cli.main(["redrive", "--local", url, "--agency", "nobody"]) == 2
        assert cli.main(["redrive", "--local", url]) == 0
    finally:
        server.shutdown()
        server.server_close()
    receiver.status = 204
    fast_bus.pump()
    assert [parse(h, b).get_subject() for h, b in receiver.accepted()] == [reference]


def test_citizenbus_redrive_against_aws(
    fast_bus: LocalBus, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without --local the command talks to AWS with the usual boto3 credentials (here: moto).
    subscribe(fast_bus, "streets", receiver.url("/hook"))
    receiver.status = 502
    for n in range(3):
        file(fast_bus, "street-damage", {"address": f"Storgatan {n + 1}"})
    for _ in range(DELIVERY_MAX_RECEIVES + 2):
        fast_bus.pump()
    assert len(fast_bus.queue_messages(delivery_dlq("streets"))) == 3
    receiver.status = 200
    capsys.readouterr()
    assert cli.main(["redrive", "--agency", "streets", "--limit", "2"]) == 0
    assert "streets: 2 message(s)" in capsys.readouterr().out
    fast_bus.pump()
    assert len(receiver.accepted()) == 2
    assert cli.main(["redrive"]) == 0
    fast_bus.pump()
    assert len(receiver.accepted()) == 3
    assert len({h["webhook-id"] for h, _ in receiver.accepted()}) == 3
    assert cli.main(["redrive", "--agency", "nobody"]) == 2


def test_410_gone_turns_the_subscription_off(fast_bus: LocalBus, receiver: Receiver) -> None:
    subscribe(fast_bus, "streets", receiver.url("/hook"))
    receiver.status = 410
    file(fast_bus, "street-damage", {"address": "Storgatan 1"})
    fast_bus.pump()
    assert len(receiver.posts) == 1  # 410 is final: no retry
    receiver.status = 204
    file(fast_bus, "street-damage", {"address": "Storgatan 2"})
    fast_bus.pump()
    assert len(receiver.posts) == 1
    assert fast_bus.queue_messages(delivery_dlq("streets")) == []
    item = boto3.client("dynamodb").get_item(
        TableName="citizenbus-subscriptions", Key={"agency": {"S": "streets"}}
    )["Item"]
    assert item["enabled"] == {"BOOL": False}
    # Subscribing again turns it back on, with a new secret.
    subscribe(fast_bus, "streets", receiver.url("/hook"))
    file(fast_bus, "street-damage", {"address": "Storgatan 3"})
    fast_bus.pump()
    assert len(receiver.accepted()) == 1


def test_a_duplicate_message_is_not_posted_twice(fast_bus: LocalBus, receiver: Receiver) -> None:
    subscribe(fast_bus, "streets", receiver.url("/hook"))
    sample = load_event("agency/delivery_streets_submitted.json")
    assert fast_bus.invoke("webhook_delivery", sample) == {"batchItemFailures": []}
    assert fast_bus.invoke("webhook_delivery", sample) == {"batchItemFailures": []}
    (headers, body), *more = receiver.accepted()
    assert not more
    event = parse(headers, body)
    assert event.get_id() == json.loads(sample["Records"][0]["body"])["detail"]["id"]


def test_only_the_types_asked_for_are_delivered(fast_bus: LocalBus, receiver: Receiver) -> None:
    subscribe(fast_bus, "streets", receiver.url("/hook"), types=[STATUS_CHANGED])
    reference = file(fast_bus, "street-damage", {"address": "Storgatan 1"})
    fast_bus.pump()
    assert receiver.posts == []
    response = fast_bus.request(
        "POST",
        f"/agency/v1/requests/{reference}/status",
        headers=KEYS["streets"],
        json_body={"status": "in_progress"},
    )
    assert response.status == 200
    fast_bus.pump()
    (headers, body), *more = receiver.accepted()
    event = parse(headers, body)
    assert not more and event.get_type() == STATUS_CHANGED
    assert event.get_data()["status"] == "in_progress"
    assert event.get_data()["previous_status"] == "received"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.org/hook", "https"),
        ("https://10.1.2.3/hook", "public"),
        ("https://192.168.0.10/hook", "public"),
        ("https://169.254.169.254/latest/meta-data", "public"),
        ("https://[fe80::1]/hook", "public"),
        ("https://240.0.0.1/hook", "public"),
        ("https://user:pw@203.0.113.9/hook", "credentials"),
        ("ftp://files.example.org/", "https"),
        ("https://no-such-host.invalid/hook", "resolve"),
    ],
)
def test_unsafe_webhook_urls_are_refused(bus: LocalBus, url: str, why: str) -> None:
    response = bus.request(
        "PUT",
        "/agency/v1/subscriptions",
        headers=KEYS["streets"],
        json_body={"url": url, "types": [SUBMITTED]},
    )
    assert response.status == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "url" and why in error["message"]
    assert boto3.client("dynamodb").scan(TableName="citizenbus-subscriptions")["Count"] == 0


def test_loopback_is_allowed_only_in_local_mode() -> None:
    assert check_url("http://127.0.0.1:9000/hook", local=True) == "http://127.0.0.1:9000/hook"
    assert check_url("https://8.8.8.8/hook", local=False) == "https://8.8.8.8/hook"
    for url in ("http://127.0.0.1:9000/hook", "https://127.0.0.1/hook", "https://[::1]/hook"):
        with pytest.raises(UnsafeUrl):
            check_url(url, local=False)


def test_a_subscription_needs_known_event_types(bus: LocalBus) -> None:
    for types in ([], ["org.example.other.v1"]):
        response = bus.request(
            "PUT",
            "/agency/v1/subscriptions",
            headers=KEYS["streets"],
            json_body={"url": "http://127.0.0.1:9/hook", "types": types},
        )
        assert response.status == 400
        assert response.json()["errors"][0]["field"].startswith("types")
    assert bus.request("PUT", "/agency/v1/subscriptions", json_body={}).status == 401


def test_a_failed_delivery_backs_off_before_the_next_try(receiver: Receiver) -> None:
    env = {**FAST, "WEBHOOK_ATTEMPTS": "3", "WEBHOOK_BACKOFF_SECONDS": "30"}
    with LocalBus(env=env) as bus:
        subscribe(bus, "streets", receiver.url("/hook"))
        receiver.status = 503
        file(bus, "street-damage", {"address": "Storgatan 1"})
        bus.pump()
        assert len(receiver.posts) == 3  # the in-invocation retries
        bus.pump()
        bus.pump()
        assert len(receiver.posts) == 3  # then it waits out its visibility backoff
        assert len(bus.queue_messages(delivery_queue("streets"))) == 1


def test_the_backoff_grows_exponentially_with_jitter_up_to_a_cap() -> None:
    from functions.domain.agencies.webhooks import backoff_seconds

    for receives, low, high in ((1, 15, 30), (2, 30, 60), (4, 120, 240), (30, 1800, 3600)):
        seen = {backoff_seconds(receives) for _ in range(50)}
        assert all(low <= s <= high for s in seen), (receives, seen)
        assert len(seen) > 1  # jittered

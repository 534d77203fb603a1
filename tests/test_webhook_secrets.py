"""Webhook signing secrets: stored encrypted with their own KMS key, never as table values."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from citizenbus.local.runtime import LocalBus
from functions.platform.settings import get_settings
from schemas.events import SUBMITTED
from tests.support.tokens import KEYS
from tests.support.webhooks import FAST, file


class Receiver:
    """An agency endpoint on loopback that answers ``status`` and keeps what it got."""

    def __init__(self) -> None:
        self.status = 204
        self.posts: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def subscription_item(agency: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName="citizenbus-subscriptions", Key={"agency": {"S": agency}}
    )["Item"]
    return dict(item)


def test_the_secret_is_stored_encrypted_and_deliveries_are_still_signed_with_it(
    receiver: Receiver,
) -> None:
    with LocalBus(env=FAST) as bus:
        response = bus.request(
            "PUT",
            "/agency/v1/subscriptions",
            headers=KEYS["streets"],
            json_body={"url": receiver.url, "types": [SUBMITTED]},
        )
        secret = response.json()["secret"]
        item = subscription_item("streets")
        assert "secret" not in item  # no plain value
        stored = json.dumps(item)
        assert secret not in stored and secret.removeprefix("whsec_") not in stored
        # The value is KMS ciphertext under the webhook key, bound to the agency.
        kms = boto3.client("kms")
        blob = base64.b64decode(item["secret_encrypted"]["S"])
        context = {"table": "subscriptions", "agency": "streets"}
        plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
        assert plain.decode() == secret
        with pytest.raises(kms.exceptions.InvalidCiphertextException):
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=context | {"agency": "waste"})
        key = kms.describe_key(KeyId=get_settings().webhook_secrets_key)["KeyMetadata"]
        assert key["Description"] == "citizenbus webhook signing secrets"

        file(bus, "street-damage", {"address": "Storgatan 1"})
        bus.pump()
    ((headers, body),) = receiver.posts
    Webhook(secret).verify(body, headers)  # raises when not signed with the agency's secret


def test_a_subscription_stored_in_plain_before_still_delivers_and_can_be_turned_off(
    receiver: Receiver,
) -> None:
    legacy = "whsec_" + "QUJD" * 11  # a plain item, as older versions stored it
    with LocalBus(env=FAST) as bus:
        boto3.client("dynamodb").put_item(
            TableName="citizenbus-subscriptions",
            Item={
                "agency": {"S": "streets"},
                "url": {"S": receiver.url},
                "types": {"L": [{"S": SUBMITTED}]},
                "secret": {"S": legacy},
                "enabled": {"BOOL": True},
            },
        )
        file(bus, "street-damage", {"address": "Storgatan 1"})
        bus.pump()
        ((headers, body),) = receiver.posts
        Webhook(legacy).verify(body, headers)
        receiver.status = 410  # the agency is gone: the plain subscription turns off too
        file(bus, "street-damage", {"address": "Storgatan 2"})
        bus.pump()
        assert subscription_item("streets")["enabled"] == {"BOOL": False}
        # Subscribing again stores a new secret, encrypted; the plain one is gone.
        response = bus.request(
            "PUT",
            "/agency/v1/subscriptions",
            headers=KEYS["streets"],
            json_body={"url": receiver.url, "types": [SUBMITTED]},
        )
        assert response.status == 200
        item = subscription_item("streets")
        assert "secret" not in item and legacy not in json.dumps(item)

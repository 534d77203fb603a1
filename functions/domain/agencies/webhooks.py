"""Webhook delivery: a CloudEvent POSTed in structured mode, signed per Standard Webhooks.

Each agency's EventBridge rule also targets its delivery queue. The ``webhook_delivery``
worker reads it and, for an agency with an enabled subscription that wants the event type,
POSTs the CloudEvent (``application/cloudevents+json``) with ``webhook-id`` (= the CloudEvent
id), ``webhook-timestamp`` and ``webhook-signature``. A failed POST is retried a few times at
once (exponential backoff, full jitter), then the message stays on the queue and comes back
after a visibility timeout that grows with its receive count; after the queue's
``maxReceiveCount`` it waits in the delivery DLQ until :func:`redrive` sends it again.
A 410 Gone turns the subscription off. Delivered event ids are remembered for a while so a
duplicate SQS message is not POSTed twice.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.domain.agencies.routing import delivery_dlq, delivery_queue
from functions.domain.agencies.store import Subscription, SubscriptionStore
from functions.domain.agencies.urls import Target, UnsafeUrl, resolve
from functions.platform import aws
from functions.platform.dedup_store import DedupStore
from functions.platform.observability import logger
from functions.platform.settings import get_settings

USER_AGENT = "citizenbus-webhooks/1"
DELIVERED_TTL_SECONDS = 7 * 24 * 3600


class DeliveryFailed(Exception):
    """The receiver did not take the event; the message is retried later."""


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered | skipped | gone
    attempts: int = 0


def signed_request(
    event: dict[str, Any], secret: str, now: datetime
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a delivery: structured-mode CloudEvent + Standard Webhooks headers."""
    # cloudevents + standardwebhooks (~90 ms) on the first delivery: redrive never signs
    from cloudevents.core.bindings.http import to_structured  # noqa: PLC0415 - see above
    from cloudevents.core.formats.json import JSONFormat  # noqa: PLC0415 - see above
    from cloudevents.core.v1.event import CloudEvent  # noqa: PLC0415 - see above
    from standardwebhooks import Webhook  # noqa: PLC0415 - see above

    attributes = {
        k: v for k, v in event.items() if k not in ("data", "data_base64") and v is not None
    }
    if "time" in attributes:
        attributes["time"] = datetime.fromisoformat(str(attributes["time"]).replace("Z", "+00:00"))
    message = to_structured(CloudEvent(attributes, event.get("data")), JSONFormat())
    body = message.body
    signature = Webhook(secret).sign(msg_id=event["id"], timestamp=now, data=body.decode())
    headers = {
        **message.headers,  # content-type: application/cloudevents+json (structured mode)
        "user-agent": USER_AGENT,
        "webhook-id": event["id"],
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return headers, body


def _connect(target: Target, timeout: float) -> socket.socket:
    """A connection to one of the addresses that were checked, never a fresh DNS answer."""
    error: OSError = OSError("no address")
    for address in target.addresses:
        try:
            return socket.create_connection((address, target.port), timeout)
        except OSError as exc:
            error = exc
    raise error


def post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> int:
    """POST to a checked target and return the HTTP status; network errors are status 0.

    The socket goes to a checked address; TLS still verifies the certificate for the host
    name (SNI) and ``Host`` names it. No redirects are followed (http.client follows none),
    and no proxy is used.
    """
    connection: http.client.HTTPConnection
    try:
        sock = _connect(target, timeout)
        if target.scheme == "https":
            context = ssl.create_default_context()
            connection = http.client.HTTPSConnection(
                target.host, target.port, timeout=timeout, context=context
            )
            connection.sock = context.wrap_socket(sock, server_hostname=target.host)
        else:
            connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
            connection.sock = sock
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(1024)
            return int(response.status)
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ValueError):
        return 0


class Deliverer:
    """Delivers the events of delivery-queue messages to the agencies' webhooks."""

    def __init__(self, subscriptions: SubscriptionStore | None = None) -> None:
        self.settings = get_settings()
        self.subscriptions = subscriptions or SubscriptionStore()
        self.dedup = DedupStore()
        self._cache: dict[str, Subscription | None] = {}
        self._down: set[str] = set()  # agencies whose receiver failed in this batch

    def subscription(self, agency: str) -> Subscription | None:
        if agency not in self._cache:
            self._cache[agency] = self.subscriptions.get(agency)
        return self._cache[agency]

    def deliver(self, event: dict[str, Any]) -> Outcome:
        """Deliver one CloudEvent; raises :class:`DeliveryFailed` when it should be retried."""
        agency = str(event.get("data", {}).get("agency", ""))
        sub = self.subscription(agency)
        if sub is None or not sub.enabled or event.get("type") not in sub.types:
            return Outcome("skipped")
        if self._delivered(agency, event["id"]):
            return Outcome("skipped")
        try:  # again: the name may resolve elsewhere by now; connect to what is checked here
            target = resolve(sub.url)
        except UnsafeUrl as exc:
            raise DeliveryFailed(f"unsafe url: {exc}") from exc
        if agency in self._down:  # do not hammer (or wait on) a receiver that is down
            raise DeliveryFailed("receiver down earlier in this batch")
        settings = self.settings
        status = 0
        for attempt in range(1, settings.webhook_attempts + 1):
            headers, body = signed_request(event, sub.secret, datetime.now(UTC))
            status = post(target, headers, body, settings.webhook_timeout_seconds)
            if 200 <= status < 300:
                self._remember(agency, event["id"])
                return Outcome("delivered", attempt)
            if status == 410:
                self.subscriptions.disable(sub, "410 Gone")
                self._cache[agency] = None
                logger.warning("webhook gone, subscription disabled", extra={"agency": agency})
                return Outcome("gone", attempt)
            if attempt < settings.webhook_attempts:
                cap = settings.webhook_attempt_delay_seconds * 2 ** (attempt - 1)
                time.sleep(random.uniform(0, cap))  # noqa: S311 - jitter, not crypto
        self._down.add(agency)
        raise DeliveryFailed(f"receiver answered {status or 'no response'}")

    def _delivered(self, agency: str, event_id: str) -> bool:
        return self.dedup.seen(f"webhook#{agency}#{event_id}")

    def _remember(self, agency: str, event_id: str) -> None:
        self.dedup.remember(f"webhook#{agency}#{event_id}", DELIVERED_TTL_SECONDS)


def backoff_seconds(receive_count: int) -> int:
    """Visibility timeout before the next receive: exponential in the receive count, jittered."""
    settings = get_settings()
    cap = min(
        settings.webhook_backoff_max_seconds,
        settings.webhook_backoff_seconds * 2 ** max(0, receive_count - 1),
    )
    return min(43_200, int(random.uniform(cap / 2, cap)))  # noqa: S311 - jitter, not crypto


def queue_url(name: str) -> str:
    return aws.sqs().get_queue_url(QueueName=name)["QueueUrl"]


def redrive(agencies: list[str], limit: int | None = None) -> dict[str, int]:
    """Move messages from the agencies' delivery DLQs back to their delivery queues.

    Each message is sent to the queue before it is deleted from the DLQ, so a failure in
    between can duplicate a message but never lose one (the worker skips delivered ids).
    """
    sqs = aws.sqs()
    moved: dict[str, int] = {}
    for agency in agencies:
        source, target = queue_url(delivery_dlq(agency)), queue_url(delivery_queue(agency))
        count = 0
        while limit is None or count < limit:
            batch = 10 if limit is None else min(10, limit - count)
            messages = sqs.receive_message(
                QueueUrl=source, MaxNumberOfMessages=batch, VisibilityTimeout=60
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                sqs.send_message(QueueUrl=target, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
                count += 1
        moved[agency] = count
    return moved


def event_of(body: str) -> dict[str, Any]:
    """The CloudEvent in a delivery-queue message (the ``detail`` of the EventBridge event)."""
    message = json.loads(body)
    detail = message.get("detail", message)
    if not isinstance(detail, dict) or "id" not in detail:
        raise ValueError("not a CloudEvent")
    return detail

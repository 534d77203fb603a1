"""Delivery receipts: an SMS that ends ``failed`` or ``undelivered`` gets an e-mail fallback.

What was sent and how far it got are the citizens table's message items
(:class:`functions.domain.citizens.store.CitizenStore`); the fallback is queued here for the
notifier, which claims it there once.
"""

from __future__ import annotations

import json

from functions.platform import aws
from functions.platform.settings import get_settings

FAILED = frozenset({"failed", "undelivered"})


def request_fallback(provider_id: str) -> None:
    """Ask the notifier to send a failed SMS again by e-mail (through its own queue)."""
    url = get_settings().notifier_queue_url
    if not url:
        raise RuntimeError("NOTIFIER_QUEUE_URL is not set")
    aws.sqs().send_message(QueueUrl=url, MessageBody=json.dumps({"fallback": provider_id}))

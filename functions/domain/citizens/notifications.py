"""What the bus sent (by provider message id), for delivery receipts and the e-mail fallback.

Each notification is the ``message#<provider id>`` item of the citizens table, the same item
Twilio's status callbacks update (``CitizenStore.record_message_status``): the notifier adds
what it sent (reference, event, channel, template) when it sends, the callback adds how far
the message got. An SMS that ends ``failed`` or ``undelivered`` is queued for an e-mail
fallback, which is claimed once.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from functions.domain.citizens.store import MESSAGE_TTL_SECONDS, CitizenStore
from functions.platform import aws
from functions.platform.dynamo import to_item
from functions.platform.settings import get_settings

FAILED = frozenset({"failed", "undelivered"})


class NotificationStore:
    def __init__(self) -> None:
        self.citizens = CitizenStore()
        self.table = self.citizens.table

    @staticmethod
    def _key(provider_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"message#{provider_id}"}, "sk": {"S": "status"}}

    def record(
        self,
        provider_id: str,
        *,
        reference: str,
        event_id: str,
        channel: str,
        kind: str,
        citizen: str,
    ) -> None:
        """Remember a sent notification (a status callback may already have created the item)."""
        values = to_item(
            {
                ":reference": reference,
                ":event": event_id,
                ":channel": channel,
                ":kind": kind,
                ":citizen": citizen,
                ":sent": datetime.now(UTC).isoformat(timespec="milliseconds"),
                ":ttl": int(time.time()) + MESSAGE_TTL_SECONDS,
            }
        )
        aws.dynamodb().update_item(
            TableName=self.table,
            Key=self._key(provider_id),
            UpdateExpression=(
                "SET #ref = :reference, event_id = :event, channel = :channel, kind = :kind,"
                " citizen = :citizen, sent_at = :sent, expires_at = :ttl"
            ),
            ExpressionAttributeNames={"#ref": "reference"},
            ExpressionAttributeValues=values,
        )

    def get(self, provider_id: str) -> dict[str, Any] | None:
        return self.citizens.message_status(provider_id)

    def claim_fallback(self, provider_id: str) -> bool:
        """True exactly once per notification: the caller may send the fallback."""
        client = aws.dynamodb()
        try:
            client.update_item(
                TableName=self.table,
                Key=self._key(provider_id),
                UpdateExpression="SET fallback_at = :t",
                ConditionExpression="attribute_exists(#ref) AND attribute_not_exists(fallback_at)",
                ExpressionAttributeNames={"#ref": "reference"},
                ExpressionAttributeValues={":t": {"S": datetime.now(UTC).isoformat()}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_fallback(self, provider_id: str) -> None:
        """The fallback could not be sent: let a retry claim it again."""
        aws.dynamodb().update_item(
            TableName=self.table, Key=self._key(provider_id), UpdateExpression="REMOVE fallback_at"
        )


def request_fallback(provider_id: str) -> None:
    """Ask the notifier to send a failed SMS again by e-mail (through its own queue)."""
    url = get_settings().notifier_queue_url
    if not url:
        raise RuntimeError("NOTIFIER_QUEUE_URL is not set")
    aws.sqs().send_message(QueueUrl=url, MessageBody=json.dumps({"fallback": provider_id}))

"""What was sent to whom (by provider message id), and what the provider said about it.

Delivery receipts (Twilio status callbacks) update these records; an SMS that fails or is
undelivered falls back to e-mail where the citizen gave one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from functions.shared import aws
from functions.shared.dynamo import from_item, to_item
from functions.shared.settings import get_settings

RETENTION_SECONDS = 90 * 24 * 3600
FAILED = frozenset({"failed", "undelivered"})
# Twilio's message statuses in the order they progress; a late callback never goes back.
ORDER = ["accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read"]


class NotificationStore:
    def __init__(self) -> None:
        self.table = get_settings().notifications_table

    def record(
        self,
        provider_id: str,
        *,
        reference: str,
        event_id: str,
        channel: str,
        kind: str,
        status: str = "sent",
    ) -> None:
        now = datetime.now(UTC)
        aws.dynamodb().put_item(
            TableName=self.table,
            Item=to_item(
                {
                    "id": provider_id,
                    "reference": reference,
                    "event_id": event_id,
                    "channel": channel,
                    "kind": kind,
                    "status": status,
                    "sent_at": now.isoformat(timespec="milliseconds"),
                    "expires_at": int(time.time()) + RETENTION_SECONDS,
                }
            ),
        )

    def get(self, provider_id: str) -> dict[str, Any] | None:
        item = (
            aws.dynamodb()
            .get_item(TableName=self.table, Key={"id": {"S": provider_id}}, ConsistentRead=True)
            .get("Item")
        )
        return from_item(item) if item else None

    def update_status(
        self, provider_id: str, status: str, error_code: str | None = None
    ) -> dict[str, Any] | None:
        """Record a delivery receipt; returns the notification, or None when it is unknown."""
        notification = self.get(provider_id)
        if notification is None:
            return None
        current = notification.get("status", "sent")
        if current in FAILED or (
            status in ORDER and current in ORDER and ORDER.index(status) < ORDER.index(current)
        ):
            return notification  # out of order or already final
        aws.dynamodb().update_item(
            TableName=self.table,
            Key={"id": {"S": provider_id}},
            UpdateExpression="SET #s = :s, error_code = :e",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}, ":e": {"S": error_code or ""}},
        )
        return {**notification, "status": status}

    def claim_fallback(self, provider_id: str) -> bool:
        """True exactly once per notification: the caller may send the fallback."""
        client = aws.dynamodb()
        try:
            client.update_item(
                TableName=self.table,
                Key={"id": {"S": provider_id}},
                UpdateExpression="SET fallback_at = :t",
                ConditionExpression="attribute_exists(id) AND attribute_not_exists(fallback_at)",
                ExpressionAttributeValues={":t": {"S": datetime.now(UTC).isoformat()}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_fallback(self, provider_id: str) -> None:
        """The fallback could not be sent: let a retry claim it again."""
        aws.dynamodb().update_item(
            TableName=self.table,
            Key={"id": {"S": provider_id}},
            UpdateExpression="REMOVE fallback_at",
        )

"""The idempotency table: what the bus has seen once and must not act on twice.

Four kinds of item share it, each under its own key prefix and each expiring by DynamoDB TTL
on ``expiration``: intake's channel message ids (``intake#<channel>#<citizen>#<id>`` → the
reference it filed and the citizen id, written in the filing's own transaction; erasure finds
a citizen's through the ``by-citizen`` index), the SMS replies kept for Twilio's retries
(``sms-reply#<citizen>#<MessageSid>`` → the reply and the citizen id, written in the text's
one transaction: :mod:`functions.sms.replies`), delivered webhooks
(``webhook#<agency>#<event id>``) and Powertools idempotency records (the notifier's, keyed by
CloudEvent id, which Powertools reads and writes itself). Rate counters
(``ratelimit#<scope>#<subject>``) keep the times of the last hits within their window.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from functions.platform.dynamo import Store, from_item, pages, to_item
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DedupStore(Store):
    def __init__(self, client: DynamoDBClient | None = None) -> None:
        super().__init__(client)
        self.table = get_settings().idempotency_table

    def put_new(self, key: str, ttl_seconds: int, **values: Any) -> dict[str, Any]:
        """A transaction ``Put`` that remembers ``key`` unless it is remembered already."""
        item = {"id": key, **values, "expiration": int(time.time()) + ttl_seconds}
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }

    def get(self, key: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def seen(self, key: str) -> bool:
        return self.get(key) is not None

    def remember(self, key: str, ttl_seconds: int) -> None:
        self.client.put_item(
            TableName=self.table,
            Item=to_item({"id": key, "expiration": int(time.time()) + ttl_seconds}),
        )

    def keys_of_citizen(self, citizen: str) -> list[str]:
        """The keys of intake's message-id items of a citizen (the ``by-citizen`` index)."""
        return [
            str(item["id"])
            for item in pages(
                self.client.query,
                TableName=self.table,
                IndexName="by-citizen",
                KeyConditionExpression="citizen = :c",
                ExpressionAttributeValues={":c": {"S": citizen}},
            )
        ]

    def powertools_layer(self) -> Any:
        """Powertools idempotency's persistence layer on this table (same key and TTL names)."""
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415 - only its users pay for Powertools idempotency
            DynamoDBPersistenceLayer,
        )

        return DynamoDBPersistenceLayer(
            table_name=self.table,
            key_attr="id",
            expiry_attr="expiration",
            boto3_client=self.client,
        )

    def delete(self, key: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"id": {"S": key}})

    # -- rate counters -----------------------------------------------------------------------
    def take(self, key: str, limit: int, window_seconds: int) -> int:
        """Count one hit on ``key`` if fewer than ``limit`` fell in the last ``window_seconds``.

        0 when counted; otherwise the seconds until the oldest hit leaves the window (the
        ``Retry-After``). A sliding window: the hits' times are kept (at most ``limit``), and
        a concurrent hit is caught by the item's version.
        """
        client = self.client
        for _ in range(5):
            wait, put = self.hit(key, self.get(key), limit, window_seconds)
            if put is None:
                return wait
            try:
                client.put_item(**put["Put"])
            except client.exceptions.ConditionalCheckFailedException:
                continue  # another hit came first: count again
            return 0
        return 1

    def hit(
        self, key: str, item: dict[str, Any] | None, limit: int, window_seconds: int
    ) -> tuple[int, dict[str, Any] | None]:
        """:meth:`take`'s decision on ``item`` (``key``'s item as read, or None): ``(seconds
        to wait, None)`` when the window is full, else ``(0, a transaction Put)`` that counts
        one hit unless another hit changed the item since it was read."""
        now = time.time()
        hits = [float(t) for t in (item or {}).get("hits", []) if float(t) > now - window_seconds]
        if len(hits) >= limit:
            return max(1, math.ceil(min(hits) + window_seconds - now)), None
        version = int((item or {}).get("version", 0))
        new = {
            "id": key,
            "hits": [f"{t:.3f}" for t in [*hits, now]],
            "version": version + 1,
            "expiration": int(now) + window_seconds + 1,
        }
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(id)"}
            if item is None
            else {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(version)}},
            }
        )
        return 0, {"Put": {"TableName": self.table, "Item": to_item(new), **condition}}

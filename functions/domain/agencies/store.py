"""The agencies' tables: webhook subscriptions and the audit log of their reads."""

from __future__ import annotations

import base64
import contextlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.platform import clock
from functions.platform.dynamo import Store, from_item, to_item
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Subscription:
    agency: str
    url: str
    types: tuple[str, ...]
    secret: str
    enabled: bool = True
    disabled_reason: str | None = None


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class SubscriptionStore(Store):
    """Webhook subscriptions: one per agency; ``PUT`` replaces it and rotates the secret."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        super().__init__(client)
        self.table = get_settings().subscriptions_table

    def put(self, agency: str, url: str, types: Sequence[str]) -> Subscription:
        """Subscribe (or re-subscribe) ``agency``; a fresh secret every time."""
        now = clock.iso()
        sub = Subscription(agency, url, tuple(types), new_secret())
        item = {
            "agency": agency,
            "url": url,
            "types": list(sub.types),
            "secret": sub.secret,
            "enabled": True,
            "updated_at": now,
        }
        self.client.put_item(TableName=self.table, Item=to_item(item))
        return sub

    def get(self, agency: str) -> Subscription | None:
        item = self.client.get_item(
            TableName=self.table, Key={"agency": {"S": agency}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        data: dict[str, Any] = from_item(item)
        return Subscription(
            agency=data["agency"],
            url=data["url"],
            types=tuple(data.get("types", [])),
            secret=data["secret"],
            enabled=bool(data.get("enabled", True)),
            disabled_reason=data.get("disabled_reason"),
        )

    def disable(self, agency: str, secret: str, reason: str) -> None:
        """Turn the subscription off, unless the agency has subscribed again meanwhile."""
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.update_item(
                TableName=self.table,
                Key={"agency": {"S": agency}},
                UpdateExpression="SET enabled = :f, disabled_reason = :r",
                ConditionExpression="secret = :s",
                ExpressionAttributeValues={
                    ":f": {"BOOL": False},
                    ":r": {"S": reason},
                    ":s": {"S": secret},
                },
            )


class AuditLog(Store):
    """Who read which request, when, and which kinds of fields they saw: never the values.

    One item per read, keyed by agency and ``<time>#<id>`` so an agency's reads list in order.
    """

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        super().__init__(client)
        self.table = get_settings().agency_audit_table

    def record(
        self,
        agency: str,
        reference: str,
        action: str,
        outcome: str,
        fields: list[str],
        request_id: str,
        source_ip: str,
    ) -> None:
        at = clock.iso_ms()
        self.client.put_item(
            TableName=self.table,
            Item=to_item(
                {
                    "agency": agency,
                    "entry": f"{at}#{uuid.uuid4().hex[:12]}",
                    "at": at,
                    "by": f"agency:{agency}",
                    "action": action,
                    "outcome": outcome,
                    "reference": reference,
                    "fields": fields,
                    "request_id": request_id,
                    "source_ip": source_ip,
                }
            ),
        )

"""The agencies' tables: webhook subscriptions and the audit log of their reads.

A subscription's signing secret is never a plain table value: it is stored encrypted with a
KMS key of its own (``WEBHOOK_SECRETS_KEY_ID``; the agency API may only encrypt with it, the
webhook delivery only decrypt), bound to the agency by the encryption context, so a copy of
the table (a backup, an export, a read-only role) signs nothing. A subscription stored before
the key existed (a plain ``secret``) is still read as it is, until the agency subscribes
again, which stores the new secret encrypted (or ``citizenbus`` operators re-``PUT`` it).
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.platform import aws, clock
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
    generation: str | None = None  # changes with every PUT (None: stored before it existed)


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class SubscriptionStore(Store):
    """Webhook subscriptions: one per agency; ``PUT`` replaces it and rotates the secret."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        super().__init__(client)
        self.table = get_settings().subscriptions_table

    def _context(self, agency: str) -> dict[str, str]:
        return {"table": "subscriptions", "agency": agency}

    def _encrypt(self, agency: str, secret: str) -> str:
        blob = aws.client("kms").encrypt(
            KeyId=get_settings().webhook_secrets_key,
            Plaintext=secret.encode(),
            EncryptionContext=self._context(agency),
        )["CiphertextBlob"]
        return base64.b64encode(blob).decode()

    def _decrypt(self, agency: str, encrypted: str) -> str:
        plain: bytes = aws.client("kms").decrypt(
            KeyId=get_settings().webhook_secrets_key,
            CiphertextBlob=base64.b64decode(encrypted),
            EncryptionContext=self._context(agency),
        )["Plaintext"]
        return plain.decode()

    def put(self, agency: str, url: str, types: Sequence[str]) -> Subscription:
        """Subscribe (or re-subscribe) ``agency``; a fresh secret every time, stored
        encrypted (a plain secret of an older subscription goes with the old item)."""
        now = clock.iso()
        sub = Subscription(agency, url, tuple(types), new_secret(), generation=uuid.uuid4().hex)
        item = {
            "agency": agency,
            "url": url,
            "types": list(sub.types),
            "secret_encrypted": self._encrypt(agency, sub.secret),
            "generation": sub.generation,
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
        encrypted = data.get("secret_encrypted")
        return Subscription(
            agency=data["agency"],
            url=data["url"],
            types=tuple(data.get("types", [])),
            # A plain "secret": stored before secrets were encrypted (read as it is).
            secret=self._decrypt(agency, encrypted) if encrypted else data["secret"],
            enabled=bool(data.get("enabled", True)),
            disabled_reason=data.get("disabled_reason"),
            generation=data.get("generation"),
        )

    def disable(self, sub: Subscription, reason: str) -> None:
        """Turn the subscription off, unless the agency has subscribed again meanwhile."""
        if sub.generation is not None:
            condition, value = "generation = :g", sub.generation
        else:  # an older, plain subscription
            condition, value = "secret = :g", sub.secret
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.update_item(
                TableName=self.table,
                Key={"agency": {"S": sub.agency}},
                UpdateExpression="SET enabled = :f, disabled_reason = :r",
                ConditionExpression=condition,
                ExpressionAttributeValues={
                    ":f": {"BOOL": False},
                    ":r": {"S": reason},
                    ":g": {"S": value},
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

"""Agencies' webhook subscriptions: where to POST their events, which types, which secret.

One subscription per agency (``PUT`` replaces it and rotates the secret). The URL must be
HTTPS and resolve only to public addresses, so the bus cannot be pointed at its own network
(private, loopback, link-local, reserved addresses are refused); in local mode
``http://127.0.0.1``/``localhost`` is allowed too so a developer can receive on their laptop.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from functions.platform import aws
from functions.platform.dynamo import from_item, to_item
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class UnsafeUrl(ValueError):
    """The webhook URL may not be used; the message says why."""


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


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl("the host name does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str, *, local: bool | None = None) -> str:
    """Refuse a webhook URL the bus must not call; returns it normalised.

    Checked when an agency subscribes and again before every delivery (a name may resolve
    elsewhere later).
    """
    local = get_settings().local if local is None else local
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("not a valid URL") from exc
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must be https://host/path")
    if parts.username or parts.password:
        raise UnsafeUrl("the URL may not carry credentials")
    loopback = local and host in LOOPBACK_NAMES
    if parts.scheme != "https" and not loopback:
        raise UnsafeUrl("the URL must use https")
    if not loopback:
        for address in _addresses(host, port or 443):
            if not address.is_global or address.is_multicast:
                raise UnsafeUrl("the URL must point at a public address")
    return parts.geturl()


class SubscriptionStore:
    """The only code that touches the subscriptions table."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        self._client = client
        self.table = get_settings().subscriptions_table

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def put(self, agency: str, url: str, types: Sequence[str]) -> Subscription:
        """Subscribe (or re-subscribe) ``agency``; a fresh secret every time."""
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
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

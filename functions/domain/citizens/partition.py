"""One citizen's items in one read: what the notifier asks about a citizen for one message.

Deciding a notification reads, per citizen id, the links (``link…``, ``linked_to``), the
language last used, the preferences, the consent on the channel and whether the contact is
confirmed: six calls (two queries, four ``GetItem``) when asked one by one. They all sit under
the citizen's own ``pk`` (:mod:`functions.domain.citizens.store`), so one consistent ``Query``
of that partition answers them all (the same items, read as strongly as before, and in
DynamoDB one read of a few small items costs one read unit, not six). A linked account is a
second partition, read once too.

:class:`CitizenPartitions` is a :class:`CitizenStore` whose reads of those items come from the
partition, read once per id for the life of the object: make one per message and drop it
(its writes go straight to the table; what it has read is not updated by them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.domain.citizens.store import CitizenStore
from functions.platform.dynamo import pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The items of a citizen's partition read from it (everything else is read as before).
_ITEMS = frozenset({"preferences", "language", "contact#confirmed"})
_PREFIXES = ("consent#", "link")  # consent#<channel>, link…, linked_to


class CitizenPartitions(CitizenStore):
    """A citizen store that reads a citizen's notification items in one query per id."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        super().__init__(client)
        self._read: dict[str, dict[str, dict[str, Any]]] = {}

    def partition(self, pk: str) -> dict[str, dict[str, Any]]:
        """Every item under ``pk`` by ``sk``, read once, consistently (a citizen's partition
        is a few small items: its consent ledger grows only when they opt in or out)."""
        items = self._read.get(pk)
        if items is None:
            items = {
                str(item["sk"]): item
                for item in pages(
                    self.client.query,
                    TableName=self.table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": pk}},
                    ConsistentRead=True,
                )
            }
            self._read[pk] = items
        return items

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        if pk.startswith("cit_") and (sk in _ITEMS or sk.startswith(_PREFIXES)):
            return self.partition(pk).get(sk)
        return super()._get(pk, sk)

    def links_of(self, citizen: str) -> list[dict[str, Any]]:
        if not citizen.startswith("cit_"):
            return super().links_of(citizen)
        return [item for sk, item in self.partition(citizen).items() if sk.startswith("link")]

"""The verdicts table: one item per request the citizen was asked about.

``reference`` (key), ``service_code``, ``agency``, ``channel`` (the request's filing channel),
``asked_via`` (``sms``, ``email``, ``push``), ``asked_at``, ``month`` (``YYYY-MM`` of the
question; the ``by-month`` index), ``submitted_month``, ``expires_at`` (epoch seconds: the
question's end), and once answered ``score`` (1–5), ``answered_at``, ``answered_via``
(``sms``, ``email``, ``app``). No citizen id, contact or text: nothing here is personal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from functions.platform.dynamo import Store, from_item, pages, to_item
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class VerdictStore(Store):
    def __init__(self, client: DynamoDBClient | None = None) -> None:
        super().__init__(client)
        self.table = get_settings().verdicts_table

    def ask(self, item: dict[str, Any]) -> bool:
        """Record a question; False when the request was asked before (at most once)."""
        client = self.client
        try:
            client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(#ref)",
                ExpressionAttributeNames={"#ref": "reference"},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, reference: str) -> None:
        """The question could not be sent: forget it (unless it was answered meanwhile)."""
        client = self.client
        try:
            client.delete_item(
                TableName=self.table,
                Key={"reference": {"S": reference}},
                ConditionExpression="attribute_not_exists(score)",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return

    def get(self, reference: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"reference": {"S": reference}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def answer(self, reference: str, score: int, via: str, at: str, now: int) -> bool:
        """Keep the answer to an open question; False when there is none (never asked,
        answered already, or past its end): the first answer is the one kept."""
        client = self.client
        try:
            client.update_item(
                TableName=self.table,
                Key={"reference": {"S": reference}},
                UpdateExpression="SET score = :s, answered_at = :at, answered_via = :via",
                ConditionExpression=(
                    "attribute_exists(#ref) AND attribute_not_exists(score) AND expires_at > :now"
                ),
                ExpressionAttributeNames={"#ref": "reference"},
                ExpressionAttributeValues=to_item(
                    {":s": score, ":at": at, ":via": via, ":now": now}
                ),
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def of_month(self, month: str) -> Iterator[dict[str, Any]]:
        """Every verdict item asked in ``month`` (``YYYY-MM``), answered or not."""
        yield from pages(
            self.client.query,
            TableName=self.table,
            IndexName="by-month",
            KeyConditionExpression="#m = :m",
            ExpressionAttributeNames={"#m": "month"},
            ExpressionAttributeValues={":m": {"S": month}},
        )

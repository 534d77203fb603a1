"""TEMPORARY (issue-5 branch): replaced by issue 3's citizen store at merge."""

from __future__ import annotations

from typing import Any

from functions.shared import aws
from functions.shared.dynamo import from_item, to_item


class CitizenStore:
    table = "citizenbus-citizens"

    def consent(self, citizen: str, channel: str) -> bool | None:
        item = (
            aws.dynamodb()
            .get_item(
                TableName=self.table, Key={"pk": {"S": citizen}, "sk": {"S": f"consent#{channel}"}}
            )
            .get("Item")
        )
        return bool(from_item(item)["opted_in"]) if item else None

    def set_consent(self, citizen: str, channel: str, opted_in: bool, source: str) -> None:
        aws.dynamodb().put_item(
            TableName=self.table,
            Item=to_item(
                {"pk": citizen, "sk": f"consent#{channel}", "opted_in": opted_in, "source": source}
            ),
        )

    def preferences(self, citizen: str) -> dict[str, Any]:
        item = (
            aws.dynamodb()
            .get_item(TableName=self.table, Key={"pk": {"S": citizen}, "sk": {"S": "preferences"}})
            .get("Item")
        )
        return from_item(item) if item else {}

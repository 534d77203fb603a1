"""The DynamoDB client skips the SDK's own check of each request against the API model
(functions/platform/aws.py says why): a malformed request is still refused, by the service,
and nothing is written. moto answers as DynamoDB does, so a bug of that kind fails here too."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from citizenbus.local.runtime import LocalBus


def _malformed() -> list[tuple[str, dict[str, Any]]]:
    table = "citizenbus-requests"
    return [
        ("a number where text belongs", {"TableName": table, "Item": {"reference": {"S": 123}}}),
        (
            "a number as a number",
            {"TableName": table, "Item": {"reference": {"S": "1"}, "n": {"N": 5}}},
        ),
    ]


@pytest.mark.parametrize(
    ("case", "request_"), _malformed(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_malformed_request_is_refused_by_the_service_and_writes_nothing(
    bus: LocalBus, case: str, request_: dict[str, Any]
) -> None:
    from functions.platform import aws

    with bus.sandbox("app_api"):  # a function's own client, as it runs there
        client = aws.dynamodb()
    with pytest.raises(ClientError) as refused:  # the service's answer, not the SDK's own check
        client.put_item(**request_)
    assert refused.value.response["Error"]["Code"] == "SerializationException", case
    stored = client.scan(TableName="citizenbus-requests", Select="COUNT")
    assert stored["Count"] == 0


def test_the_other_clients_keep_the_sdk_s_checks(bus: LocalBus) -> None:
    from functions.platform import aws

    with bus.sandbox("outbox_publisher"):
        events = aws.events()
    with pytest.raises(ParamValidationError):  # refused before anything is sent
        events.put_events(Entries=[{"Source": 123}])

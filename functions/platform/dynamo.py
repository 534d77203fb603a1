"""Plain Python values ⇄ DynamoDB attribute values, without boto3's resource layer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from functions.platform import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def to_item(value: dict[str, Any]) -> dict[str, Any]:
    return {k: to_attr(v) for k, v in value.items() if v is not None}


def to_attr(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {k: to_attr(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(value).__name__}")


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attr(v) for k, v in item.items()}


def pages(call: Callable[..., Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated ``Query`` or ``Scan`` (``call`` is the client's method)."""
    while True:
        page = call(**kwargs)
        for item in page.get("Items", []):
            yield from_item(item)
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def from_attr(attr: dict[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "BOOL":
        return value
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(value)
    raise TypeError(f"unsupported attribute type {kind}")


class Store:
    """What every store starts from: a DynamoDB client, the process's own unless one is given."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

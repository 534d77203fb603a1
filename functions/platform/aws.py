"""AWS clients, created lazily on first use and then reused across warm invocations."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from functions.platform import process

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


# Per service, what differs from the SDK's defaults:
# - DynamoDB throttles in bursts (a hot partition, on-demand scaling up): the SDK's default of
#   three retries turned a throttled burst into a 500 for a citizen. DynamoDB gets the SDK's
#   own DynamoDB policy: ten attempts, backing off from 50 ms.
# - DynamoDB's requests are not also checked against the API model in the client
#   (``parameter_validation``, which botocore documents as the switch "for performance
#   reasons"): DynamoDB checks every request itself (a wrong type or a missing parameter is a
#   SerializationException or ValidationException, and moto answers the same locally:
#   tests/test_aws_clients.py), while the client's walk over every attribute of a filing's
#   transaction was ~20 % of a warm filing's CPU (e-service 0.85 -> 0.69 ms, app 0.54 -> 0.41,
#   SMS 1.36 -> 1.09; docs/performance.md, part G).
# - DynamoDB Streams on the regional endpoint: botocore's account-based endpoints are not
#   served for Streams by moto, and the regional one works everywhere (redrive reads a stream).
_CONFIG: dict[str, dict[str, Any]] = {
    "dynamodb": {
        "retries": {"mode": "legacy", "total_max_attempts": 10},
        "parameter_validation": False,
    },
    "dynamodbstreams": {"account_id_endpoint_mode": "disabled"},
}


_SESSION: list[Any] = []  # this process's own botocore session, once made


def _session() -> Any:
    """The botocore session the clients come from. Where boto3 is initialised (the local bus,
    the tests, the benches' harness) its default session's, so every hook on it sees the
    functions' calls; in a function nothing initialises boto3 and the clients come straight
    from botocore: boto3's own import brings s3transfer (and with it ``multiprocessing`` and
    ``concurrent.futures``) that no function uses, ~10 ms of a cold start."""
    boto3 = sys.modules.get("boto3")
    if boto3 is not None and "DEFAULT_SESSION" in vars(boto3):  # initialised, not a stand-in
        return boto3._get_default_session()._session
    if not _SESSION:
        import botocore.session  # noqa: PLC0415 - on the first AWS call, not at import

        _SESSION.append(botocore.session.get_session())
    return _SESSION[0]


@process.once
def client(service: str) -> Any:
    from botocore.config import Config  # noqa: PLC0415 - on the first AWS call, not at import (health, the authorizer never make one)

    options = _CONFIG.get(service)
    return _session().create_client(service, config=Config(**options) if options else None)


def dynamodb() -> DynamoDBClient:
    return client("dynamodb")  # type: ignore[no-any-return]


def events() -> EventBridgeClient:
    return client("events")  # type: ignore[no-any-return]


def sqs() -> SQSClient:
    return client("sqs")  # type: ignore[no-any-return]


def s3() -> S3Client:
    return client("s3")  # type: ignore[no-any-return]

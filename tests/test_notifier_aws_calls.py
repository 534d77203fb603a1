"""The AWS calls the notifier makes per message, by kind (issue 16, part N).

Each call is latency for the citizen's message and a line on the DynamoDB/SES bill, and in a
burst of filings the notifier's calls took most of the local bus's CPU. The counts below are
what ``python -m bench.notifier_calls`` measures (before part N: 11, 17, 11 and 14); a change
that adds a call per message must change this table, on purpose.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from bench.notifier_calls import KINDS, measure

# Secrets are read once per process (then cached): a cold start's cost, not a message's.
ONCE_PER_PROCESS = ("secretsmanager.",)

EXPECTED: dict[str, dict[str, int]] = {
    # idempotency claim, the request, the citizen's partition, idempotency done, the receipt
    "receipt_sms": {
        "dynamodb.PutItem": 1,
        "dynamodb.GetItem": 1,
        "dynamodb.Query": 1,
        "dynamodb.UpdateItem": 2,
    },
    # + the confirmation's claim and cap read together, written with its pending item and token
    "confirm_email": {
        "dynamodb.PutItem": 1,
        "dynamodb.GetItem": 1,
        "dynamodb.Query": 1,
        "dynamodb.BatchGetItem": 1,
        "dynamodb.TransactWriteItems": 1,
        "sesv2.SendEmail": 1,
        "dynamodb.UpdateItem": 2,
    },
    "status_email": {
        "dynamodb.PutItem": 1,
        "dynamodb.GetItem": 1,
        "dynamodb.Query": 1,
        "sesv2.SendEmail": 1,
        "dynamodb.UpdateItem": 2,
    },
    # + the verdict question: its claim, its e-mail, what was sent
    "verdict_email": {
        "dynamodb.PutItem": 2,
        "dynamodb.GetItem": 1,
        "dynamodb.Query": 1,
        "sesv2.SendEmail": 2,
        "dynamodb.UpdateItem": 3,
    },
}


@cache
def measured() -> dict[str, Any]:
    return measure(rounds=2)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_message_makes_the_calls_it_needs_and_no_more(kind: str) -> None:
    row = measured()[kind]
    assert row["messages"] == 2, f"{kind}: the notifier did not get one message a round"
    per_message = {
        op: n for op, n in row["operations"].items() if not op.startswith(ONCE_PER_PROCESS)
    }
    assert per_message == EXPECTED[kind]


def test_the_counts_are_of_messages_that_went_out() -> None:
    """Not of ones skipped early: each round sent its receipt, its confirmation, its status
    update, and the resolution with its verdict question."""
    sent = {kind: measured()[kind]["sent"] for kind in KINDS}
    assert sent == {"receipt_sms": 2, "confirm_email": 2, "status_email": 2, "verdict_email": 4}

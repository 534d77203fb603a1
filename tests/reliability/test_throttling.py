"""A burst of DynamoDB throttling on a citizen's route is retried, not answered with a 5xx."""

from __future__ import annotations

from typing import Any

import pytest

from citizenbus.local.runtime import LocalBus
from functions.platform import aws
from tests.support.bus import count_items
from tests.support.faults import Clock, _aws_error
from tests.support.tokens import auth


def test_a_throttled_burst_on_filing_is_retried_and_files_once(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    clock.install(monkeypatch)  # the SDK's backoff passes without waiting
    from moto.core.models import botocore_stubber

    with bus.sandbox("app_api"):  # the function's own client
        client = aws.client("dynamodb")
    throttled: list[str] = []

    def throttle_first_five(request: Any, **kwargs: Any) -> Any:
        # Five throttled answers in a row: more than the SDK's default three retries.
        if kwargs["event_name"].endswith("TransactWriteItems") and len(throttled) < 5:
            throttled.append(kwargs["event_name"])
            return _aws_error("ThrottlingException")
        return botocore_stubber(request=request, **kwargs)

    client.meta.events.unregister("before-send", botocore_stubber)
    client.meta.events.register("before-send", throttle_first_five)
    body = {"service_code": "street-damage", "attributes": {"address": "Storgatan 1"}}
    response = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=body)
    assert response.status == 201, response.text
    assert len(throttled) == 5 and clock.sleeps >= 5
    assert count_items("requests") == 1 and count_items("outbox") == 1

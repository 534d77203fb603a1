"""From intake to the agency's queue: exactly once, thin events, nothing lost on failures."""

from __future__ import annotations

import json
from typing import Any

import boto3

from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.platform import process
from functions.platform.bus import EventPublisher
from schemas.events import RequestEvent
from tests.support.bus import load_event
from tests.support.tokens import auth

PERSONAL = ["12345678", "+46701234567", "0701234567", "anna@example.se"]


def file_both(bus: LocalBus) -> tuple[str, str]:
    app = bus.request(
        "POST",
        "/app/v1/requests",
        headers=auth(),
        json_body={
            "service_code": "tax-return-approve",
            "attributes": {"personal_code": "12345678"},
        },
    )
    form = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={"address": "Storgatan 1", "phone": "0701234567", "email": "anna@example.se"},
    )
    return app.json()["reference"], form.json()["reference"]


def queued(bus: LocalBus, agency: str) -> list[dict[str, Any]]:
    return bus.queue_messages(agency_queue(agency))


def test_each_request_lands_once_in_its_agencys_queue_without_personal_data(bus: LocalBus) -> None:
    tax_ref, street_ref = file_both(bus)
    bus.pump()
    tax, streets, waste = queued(bus, "tax"), queued(bus, "streets"), queued(bus, "waste")
    assert [m["detail"]["subject"] for m in tax] == [tax_ref]
    assert [m["detail"]["subject"] for m in streets] == [street_ref]
    assert waste == []
    for message in tax + streets:
        assert message["source"] == "org.citizenbus"
        event = message["detail"]
        assert message["detail-type"] == event["type"] == "org.citizenbus.request.submitted.v1"
        assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
        assert event["data"]["citizen"].startswith("cit_")
        RequestEvent.model_validate(event)  # the published schema describes what is sent
        text = json.dumps(message)
        for secret in PERSONAL:
            assert secret not in text
    assert tax[0]["detail"]["data"]["channel"] == "app"
    assert tax[0]["detail"]["data"]["attributes"] == {}
    assert streets[0]["detail"]["data"]["channel"] == "eservice"
    # Pumping again moves nothing: no duplicates.
    bus.pump()
    assert len(queued(bus, "tax")) == 1 and len(queued(bus, "streets")) == 1


def test_events_parse_with_the_cloudevents_sdk(bus: LocalBus) -> None:
    from cloudevents.core.formats.json import JSONFormat

    file_both(bus)
    bus.pump()
    event = JSONFormat().read(None, json.dumps(queued(bus, "tax")[0]["detail"]))
    assert event.get_type() == "org.citizenbus.request.submitted.v1"
    assert event.get_extension("dataclassification") == "internal"
    data = event.get_data()
    assert isinstance(data, dict) and data["agency"] == "tax"


class FlakyEvents:
    """A real EventBridge client whose PutEvents fails some entries, as AWS may."""

    def __init__(self, fail_entries: int, fail_calls: int = 0) -> None:
        self.real = boto3.client("events")
        self.fail_entries = fail_entries  # entries to fail, one per call, from the front
        self.fail_calls = fail_calls  # whole calls to throttle first
        self.calls: list[int] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(len(Entries))
        if self.fail_calls:
            self.fail_calls -= 1
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutEvents"
            )
        if self.fail_entries:
            self.fail_entries -= 1
            rest = (
                self.real.put_events(Entries=Entries[1:]) if len(Entries) > 1 else {"Entries": []}
            )
            failed = {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
            return {"FailedEntryCount": 1, "Entries": [failed, *rest["Entries"]]}
        return self.real.put_events(Entries=Entries)


def test_a_partial_putevents_failure_is_retried_and_nothing_is_lost_or_doubled(
    bus: LocalBus, monkeypatch: Any
) -> None:
    flaky = FlakyEvents(fail_entries=2)
    process.inject(event_publisher=EventPublisher(client=flaky, sleep=lambda s: None))
    refs = [
        bus.request(
            "POST",
            "/eservice/v1/forms/missed-waste-collection",
            json_body={"address": f"Sopvägen {i}", "email": "a@example.se"},
        ).json()["reference"]
        for i in range(12)
    ]
    bus.pump()
    delivered = sorted(m["detail"]["subject"] for m in queued(bus, "waste"))
    assert delivered == sorted(refs)
    assert flaky.calls[:2] == [10, 2] or flaky.calls[0] == 10  # batches of at most 10
    assert max(flaky.calls) <= 10


def test_when_eventbridge_stays_down_the_stream_retries_then_parks_in_the_dlq(
    bus: LocalBus, monkeypatch: Any
) -> None:
    flaky = FlakyEvents(fail_entries=0, fail_calls=10_000)
    process.inject(event_publisher=EventPublisher(client=flaky, sleep=lambda s: None))
    bus.request(
        "POST",
        "/eservice/v1/forms/missed-waste-collection",
        json_body={"address": "Sopvägen 1", "email": "a@example.se"},
    )
    bus.pump()
    assert queued(bus, "waste") == []
    parked = bus.queue_messages("citizenbus-outbox-dlq")
    assert len(parked) == 1  # Lambda's on-failure record: a pointer into the stream
    assert parked[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert parked[0]["DDBStreamBatchInfo"]["batchSize"] == 1


def test_a_throttled_call_is_retried_within_the_invocation(bus: LocalBus, monkeypatch: Any) -> None:
    flaky = FlakyEvents(fail_entries=0, fail_calls=2)
    process.inject(event_publisher=EventPublisher(client=flaky, sleep=lambda s: None))
    ref = bus.request(
        "POST",
        "/eservice/v1/forms/missed-waste-collection",
        json_body={"address": "Sopvägen 1", "email": "a@example.se"},
    ).json()["reference"]
    bus.pump()
    assert [m["detail"]["subject"] for m in queued(bus, "waste")] == [ref]


def test_the_sample_stream_record_is_published_to_the_right_queue(bus: LocalBus) -> None:
    result = bus.invoke("outbox_publisher", load_event("dynamodb/outbox_insert.json"))
    assert result == {"batchItemFailures": []}
    [message] = queued(bus, "streets")
    assert message["detail"] == load_event("eventbridge/request_submitted.json")["detail"]


def test_a_retried_filing_neither_doubles_its_event_nor_stalls_the_ones_after(
    bus: LocalBus,
) -> None:
    """A retried message id cancels its transaction; moto undoes that by swapping in copies of
    the tables. The bus must keep reading the outbox stream as it is after that (found by hand
    against `citizenbus serve`: the retry's event was routed and nothing filed after it was)."""
    body = {"address": "Sopvägen 1", "email": "a@example.se"}
    key = {"Idempotency-Key": "retry-1"}
    first = bus.request(
        "POST", "/eservice/v1/forms/missed-waste-collection", json_body=body, headers=key
    )
    bus.pump()  # the stream is being read before the retry comes
    again = bus.request(
        "POST", "/eservice/v1/forms/missed-waste-collection", json_body=body, headers=key
    )
    assert (first.status, again.status) == (201, 200)
    assert again.json()["reference"] == first.json()["reference"]
    later = bus.request(
        "POST",
        "/eservice/v1/forms/missed-waste-collection",
        json_body={"address": "Sopvägen 2", "email": "b@example.se"},
    ).json()["reference"]
    bus.pump()
    delivered = sorted(m["detail"]["subject"] for m in queued(bus, "waste"))
    assert delivered == sorted([first.json()["reference"], later])

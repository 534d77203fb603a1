"""Malformed CloudEvents and garbage records: to the consumers and to the agency receiver.

SQS consumers (notifier, webhook delivery) get batches mixing garbage bodies with a good one:
the garbage ends as batch item failures (the queue's redrive policy takes it to the DLQ), the
good record is handled, nothing crashes the batch. The outbox publisher gets poison stream
records: they fail alone, land in the stream's on-failure queue, and later requests still
reach their agency. The example agency receiver answers validly signed non-CloudEvents with
400 and anything unsigned or garbled with 401, never an exception.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citizenbus.local.runtime import ACCOUNT, REGION, LocalBus
from examples.agency_backend import AgencyBackend
from tests.support.bus import load_event
from tests.support.strategies import json_value, text, tried

SUBMITTED = "org.citizenbus.request.submitted.v1"


def sqs_record(body: str, queue: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(
        json.dumps(load_event("sqs/agency_streets_submitted.json")["Records"][0])
    )
    record.update(
        messageId=str(uuid.uuid4()),
        body=body,
        eventSourceARN=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
    )
    return record


def cloudevent_bodies() -> st.SearchStrategy[str]:
    """EventBridge envelopes whose CloudEvent is broken in every way, and plain garbage."""
    good = json.loads(load_event("sqs/agency_streets_submitted.json")["Records"][0]["body"])

    def broken(change: tuple[str, Any]) -> str:
        envelope = json.loads(json.dumps(good))
        key, value = change
        if key.startswith("data."):
            envelope["detail"]["data"][key[5:]] = value
        elif key == "detail":
            envelope["detail"] = value
        else:
            envelope["detail"][key] = value
        return json.dumps(envelope)

    keys = st.sampled_from(
        [
            "id",
            "type",
            "specversion",
            "source",
            "subject",
            "detail",
            "data",
            "time",
            "data.reference",
            "data.status",
            "data.citizen",
            "data.service_code",
            "data.agency",
        ]
    )
    return st.one_of(
        st.tuples(keys, json_value).map(broken),
        json_value.map(json.dumps),
        text,
        st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
    )


@pytest.mark.parametrize(
    ("function", "queue"),
    [("notifier", "citizenbus-notifier"), ("webhook_delivery", "citizenbus-delivery-streets")],
)
def test_garbage_records_fail_alone_and_never_crash_the_batch(
    shared_bus: LocalBus, function: str, queue: str
) -> None:
    good_body = load_event("sqs/agency_streets_submitted.json")["Records"][0]["body"]

    @given(garbage=st.lists(cloudevent_bodies(), min_size=1, max_size=4))
    def run(garbage: list[str]) -> None:
        tried("consumers", len(garbage))
        records = [sqs_record(b, queue) for b in garbage] + [sqs_record(good_body, queue)]
        result = shared_bus.invoke(function, {"Records": records})  # raises = the batch crashed
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        assert records[-1]["messageId"] not in failed  # the good one is handled
        assert failed <= {r["messageId"] for r in records}

    run()


def test_plain_garbage_is_a_batch_item_failure(shared_bus: LocalBus) -> None:
    for function, queue in (
        ("notifier", "citizenbus-notifier"),
        ("webhook_delivery", "citizenbus-delivery-streets"),
    ):
        records = [sqs_record(b, queue) for b in ("not json", "[]", "{}", '{"detail": 1}')]
        result = shared_bus.invoke(function, {"Records": records})
        assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {
            r["messageId"] for r in records
        }, function


def test_outbox_publisher_reports_garbage_stream_records_as_failures(shared_bus: LocalBus) -> None:
    template = load_event("dynamodb/outbox_insert.json")["Records"][0]

    @given(events=st.lists(st.one_of(text, json_value.map(json.dumps)), min_size=1, max_size=5))
    def run(events: list[str]) -> None:
        tried("consumers", len(events))
        records = []
        for n, event in enumerate(events):
            record = json.loads(json.dumps(template))
            record["dynamodb"]["SequenceNumber"] = str(1000 + n)
            record["dynamodb"]["NewImage"]["event"] = {"S": event}
            records.append(record)
        result = shared_bus.invoke("outbox_publisher", {"Records": records})
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for record, event in zip(records, events, strict=True):
            try:
                parsed = json.loads(event)
                valid = isinstance(parsed, dict) and {"id", "type", "source"} <= set(parsed)
            except ValueError:
                valid = False
            if not valid:
                assert record["dynamodb"]["SequenceNumber"] in failed

    run()


# -- the example agency receiver (Standard Webhooks + CloudEvents) ----------------------------
SECRET = "whsec_" + base64.b64encode(b"a-32-byte-secret-for-the-tests!!").decode()


def receiver() -> AgencyBackend:
    from standardwebhooks import Webhook

    backend = AgencyBackend("http://127.0.0.1:1", "unused")
    backend.webhook = Webhook(SECRET)
    return backend


def signed(body: bytes, at: datetime | None = None, msg_id: str = "msg_1") -> dict[str, str]:
    from standardwebhooks import Webhook

    moment = at or datetime.now(UTC)
    signature = Webhook(SECRET).sign(msg_id, moment, body.decode("utf-8", "replace"))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/cloudevents+json",
    }


def test_the_receiver_refuses_signed_garbage_with_400_and_never_crashes() -> None:
    backend = receiver()

    @given(body=cloudevent_bodies())
    def run(body: str) -> None:
        tried("receiver")
        raw = body.encode("utf-8", "surrogatepass")
        status = backend.receive(signed(raw), raw)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:  # not what was signed: the signature cannot verify
            assert status == 401
            return
        assert status in (204, 400)
        if status == 204:  # only a real CloudEvent is taken
            assert backend.received[-1].get_id()

    run()
    good = json.dumps(
        json.loads(load_event("sqs/agency_streets_submitted.json")["Records"][0]["body"])["detail"]
    ).encode()
    assert backend.receive(signed(good), good) == 204
    assert backend.receive(signed(b"{not json"), b"{not json") == 400
    assert backend.receive(signed(b'{"specversion": "1.0"}'), b'{"specversion": "1.0"}') == 400


def test_the_receiver_refuses_forged_stale_and_garbled_signatures() -> None:
    backend = receiver()
    good = json.dumps(
        json.loads(load_event("sqs/agency_streets_submitted.json")["Records"][0]["body"])["detail"]
    ).encode()
    headers = signed(good)
    assert backend.receive(headers, good) == 204
    assert backend.receive(headers, good.replace(b"7944177828", b"7944177836")) == 401  # altered
    stale = datetime.fromtimestamp(time.time() - 10 * 60, UTC)
    assert backend.receive(signed(good, stale), good) == 401  # replayed after the tolerance
    future = datetime.fromtimestamp(time.time() + 10 * 60, UTC)
    assert backend.receive(signed(good, future), good) == 401
    other = dict(headers, **{"webhook-id": "msg_2"})  # the signature covers the id
    assert backend.receive(other, good) == 401
    for name, value in (
        ("webhook-signature", "v1"),
        ("webhook-signature", "garbage"),
        ("webhook-timestamp", "soon"),
        ("webhook-signature", "v1,!!!"),
    ):
        assert backend.receive(dict(headers, **{name: value}), good) == 401
    assert backend.receive(headers, b"\xff\xfe" + good) == 401
    assert {k: v for k, v in headers.items() if k != "webhook-signature"}
    assert backend.receive({"content-type": "application/json"}, good) == 401

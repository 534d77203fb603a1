"""The AsyncAPI document: current, complete, and describing the events the bus really sends."""

from __future__ import annotations

import json

from schemas import asyncapi
from schemas.events import EVENT_TYPES, RequestEvent
from tests.support.bus import load_event


def test_asyncapi_document_in_the_repository_is_current() -> None:
    assert asyncapi.main(["--check"]) == 0, "run: make schemas"


def test_every_event_type_has_a_channel_a_receive_operation_and_a_payload() -> None:
    doc = json.loads(asyncapi.OUT.read_text())
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"]: name for name, c in doc["channels"].items()}
    assert set(addresses) == set(EVENT_TYPES)
    schemas = doc["components"]["schemas"]
    for event_type, name in addresses.items():
        message = doc["components"]["messages"][name]
        assert message["name"] == event_type
        assert message["contentType"] == "application/cloudevents+json"
        payload = schemas[message["payload"]["$ref"].rsplit("/", 1)[1]]
        assert {"type": "object", "properties": {"type": {"const": event_type}}} in payload["allOf"]
        operations = [
            o for o in doc["operations"].values() if o["channel"]["$ref"] == f"#/channels/{name}"
        ]
        assert [o["action"] for o in operations] == ["receive"]
    envelope = schemas["RequestEvent"]
    assert {"dataclassification", "dataregulation", "datacategory"} <= set(envelope["properties"])
    assert "dataclassification" in envelope["required"]
    # Every $ref resolves inside the document.
    text = json.dumps(doc)
    for ref in {r.split('"')[0] for r in text.split('"$ref": "')[1:]}:
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def test_the_sample_events_match_the_documented_envelope() -> None:
    event = load_event("eventbridge/request_submitted.json")["detail"]
    assert RequestEvent.model_validate(event).dataregulation == "GDPR"

"""The AsyncAPI 3 document of the bus's events, generated from the pydantic models.

``python -m schemas.asyncapi`` writes ``schemas/asyncapi.json`` (JSON is also valid YAML);
``--check`` fails when the file is out of date (a test runs it). An agency can feed the file
to any AsyncAPI 3 tool to generate a client or documentation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.events import (
    BUS_SOURCE,
    EVENT_SOURCE,
    SLA_BREACHED,
    STATUS_CHANGED,
    SUBMITTED,
    SUPPORTED,
    RequestEvent,
)

OUT = Path(__file__).with_name("asyncapi.json")
REF = "#/components/schemas/{model}"

EVENTS: dict[str, tuple[str, str, str]] = {
    # type → (name, title, what it announces)
    SUBMITTED: (
        "requestSubmitted",
        "Request submitted",
        "A citizen filed a request on one of the agency's services (status `received`).",
    ),
    STATUS_CHANGED: (
        "requestStatusChanged",
        "Request status changed",
        "The request moved along its lifecycle; `data.previous_status` is where it came from "
        "and `data.note` what the agency said. Status `reopened` (from `resolved`) is the "
        "citizen's: the problem is still there, `data.note` says why (scrubbed of personal "
        "data), `data.expected_at` is the restarted SLA date; take it up with `in_progress`.",
    ),
    SLA_BREACHED: (
        "requestSlaBreached",
        "Request SLA breached",
        "The request is still open after the service's SLA (`data.expected_at`).",
    ),
    SUPPORTED: (
        "requestSupported",
        "Request supported (me too)",
        "Another citizen reported the same thing at the same place while the request is open; "
        "they follow it instead of filing a new case. `data.supporters` counts them; `data."
        "citizen` is still the original filer's id. One event per supporter, never for a retry.",
    ),
}

WEBHOOK_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "Standard Webhooks headers of a webhook delivery (HTTP POST).",
    "properties": {
        "webhook-id": {"type": "string", "description": "The CloudEvent id; dedupe on it."},
        "webhook-timestamp": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "Unix seconds when the delivery was signed.",
        },
        "webhook-signature": {
            "type": "string",
            "description": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the `whsec_` "
            "secret from `PUT /agency/v1/subscriptions`.",
        },
        "content-type": {"type": "string", "const": "application/cloudevents+json"},
    },
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
}


def _schemas() -> dict[str, Any]:
    schema = RequestEvent.model_json_schema(ref_template=REF)
    defs = schema.pop("$defs", {})
    schemas: dict[str, Any] = {**defs, "RequestEvent": schema}
    for event_type, (name, title, _) in EVENTS.items():
        schemas[name[0].upper() + name[1:] + "Event"] = {
            "title": title,
            "allOf": [
                {"$ref": REF.format(model="RequestEvent")},
                {"type": "object", "properties": {"type": {"const": event_type}}},
            ],
        }
    return dict(sorted(schemas.items()))


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document as a dict."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, (name, title, summary) in EVENTS.items():
        messages[name] = {
            "name": event_type,
            "title": title,
            "summary": summary,
            "contentType": "application/cloudevents+json",
            "headers": {"$ref": "#/components/schemas/WebhookHeaders"},
            "payload": {"$ref": REF.format(model=name[0].upper() + name[1:] + "Event")},
            "correlationId": {"location": "$message.payload#/subject"},
        }
        channels[name] = {
            "address": event_type,
            "title": title,
            "description": f"CloudEvents of type `{event_type}`: the EventBridge `detail-type`"
            " and the CloudEvent `type`.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations["receive" + name[0].upper() + name[1:]] = {
            "action": "receive",
            "title": f"Receive {title.lower()}",
            "summary": "Delivered to the owning agency only (by its EventBridge rule, its SQS "
            "queue, or its signed webhook).",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:org:citizenbus:requests",
        "info": {
            "title": "citizenbus request events",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 (structured JSON mode) that announce what happens to citizens' "
                "requests. Events are thin: `data` carries the reference, service, agency, "
                "channel, status, the attributes the catalog does not mark personal and a "
                "pseudonymous citizen id; never a phone number, e-mail address, personal code "
                "or identity number (fetch those with `GET /agency/v1/requests/{reference}`). "
                "Each event carries the CloudEvents data-classification extension "
                "(`dataclassification`, `dataregulation`, `datacategory`). "
                f"On EventBridge the CloudEvent is the `detail` of an event with source "
                f"`{BUS_SOURCE}`; the CloudEvent `source` is `{EVENT_SOURCE}`."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "eventbridge": {
                "host": "events.{region}.amazonaws.com",
                "protocol": "https",
                "title": "EventBridge bus `citizenbus`",
                "description": "Attach your own rule (pattern on `detail.data.agency`).",
                "variables": {"region": {"default": "eu-north-1"}},
            },
            "sqs": {
                "host": "sqs.{region}.amazonaws.com",
                "protocol": "sqs",
                "title": "Agency queue `citizenbus-agency-{agency}`",
                "description": "The EventBridge event (CloudEvent in `detail`) per message.",
                "variables": {"region": {"default": "eu-north-1"}},
            },
            "webhook": {
                "host": "{host}",
                "protocol": "https",
                "title": "Your webhook",
                "description": "The URL given to `PUT /agency/v1/subscriptions`; POSTs of the "
                "CloudEvent signed per Standard Webhooks, retried with backoff.",
                "variables": {"host": {"default": "agency.example.org"}},
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {**_schemas(), "WebhookHeaders": WEBHOOK_HEADERS},
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"out of date: {OUT.name} (run: make schemas)")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

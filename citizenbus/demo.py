"""``citizenbus demo``: a scripted journey on an in-process bus, narrated hop by hop.

Filed by SMS → stored with its reference → routed over EventBridge to the agency → the agency
reads it through the agency API and moves it along → the citizen is notified by SMS in the
language they wrote in. Every hop runs the real handlers against moto; nothing leaves the
machine (Twilio gets a recording HTTP client).
"""

from __future__ import annotations

import json
from typing import Any

from citizenbus.local.outbox import collect
from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue

CITIZEN = "+46701234567"


def say(step: str, detail: Any = None) -> None:
    print(f"\n▶ {step}", flush=True)
    if detail is not None:
        text = (
            detail if isinstance(detail, str) else json.dumps(detail, indent=2, ensure_ascii=False)
        )
        print("  " + text.replace("\n", "\n  "), flush=True)


def run_demo() -> int:
    with LocalBus() as bus:
        text = "GATA Storgatan 1 djupt hål vid busshållplatsen"
        say(f"1. A citizen texts {text!r} from {CITIZEN} (Twilio webhook, signature checked)")
        reply = twilio_request(bus, "/channels/sms", sms_params(CITIZEN, text))
        say("   The SMS reply (TwiML, in Swedish because GATA is Swedish)", reply.text)

        bus.pump()
        [message] = bus.queue_messages(agency_queue("streets"))[-1:]
        event = message["detail"]
        reference = event["subject"]
        say(
            "2. Stored with one transaction (request + outbox + MessageSid), published from the "
            "outbox to EventBridge and routed by the streets rule to its SQS queue. "
            "The CloudEvent carries no phone number:",
            event,
        )

        key = {"Authorization": "Bearer local-streets-key"}
        record = bus.request("GET", f"/agency/v1/requests/{reference}", headers=key).json()
        say(
            "3. The streets department reads it through the agency API (the read is audited)",
            {k: record[k] for k in ("reference", "status", "attributes", "contact") if k in record},
        )

        changed = bus.request(
            "POST",
            f"/agency/v1/requests/{reference}/status",
            headers=key,
            json_body={"status": "in_progress", "note": "Ett lag är bokat."},
        ).json()
        say("4. It moves the request to in_progress (lifecycle checked)", changed)

        bus.pump()
        sent = [m for m in collect(bus) if m["reference"] == reference]
        say(
            "5. status_changed went out through the same outbox; the notifier sent one SMS, "
            "in the citizen's language (GET /_local/outbox on the local bus):",
            sent[-1] if sent else "(nothing sent)",
        )

        status = twilio_request(bus, "/channels/sms", sms_params(CITIZEN, f"STATUS {reference}"))
        say(f"6. The citizen texts 'STATUS {reference}'", status.text)
    return 0

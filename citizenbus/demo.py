"""``citizenbus demo``: a scripted journey on an in-process bus, narrated hop by hop.

Filed by SMS → stored with its reference → routed over EventBridge to the agency → the agency
reads it through the agency API and moves it along → the citizen is notified by SMS in the
language they wrote in → they link their phone in the app and see the request there → a
``STATUS`` by SMS is answered in Swedish, the language they last used. Every hop runs the
real handlers against moto; nothing leaves the machine (Twilio gets a recording HTTP client).
"""

from __future__ import annotations

import json
import re
from typing import Any

from citizenbus.cli import local_token
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

        app = {"Authorization": f"Bearer {local_token('demo-citizen')}"}
        bus.request("POST", "/app/v1/me/contacts", headers=app, json_body={"phone": CITIZEN})
        bus.pump()
        code = re.findall(r"\b\d{6}\b", collect(bus)[-1]["body"])[-1]
        body = {"phone": CITIZEN, "code": code}
        bus.request("POST", "/app/v1/me/contacts/verify", headers=app, json_body=body)
        mine = bus.request("GET", "/app/v1/requests", headers=app).json()["requests"]
        say(
            "6. The citizen opens the app, links the phone with the 6-digit code texted to it "
            "and sees the request filed by SMS:",
            [{k: r[k] for k in ("reference", "channel", "status")} for r in mine],
        )

        status = twilio_request(bus, "/channels/sms", sms_params(CITIZEN, f"STATUS {reference}"))
        say(
            f"7. The citizen texts 'STATUS {reference}': answered in Swedish, the language "
            "they last used with the bus",
            status.text,
        )
    return 0

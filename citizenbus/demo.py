"""``citizenbus demo``: a scripted journey on an in-process bus, narrated hop by hop."""

from __future__ import annotations

import json
from typing import Any

from citizenbus.local.runtime import LocalBus


def say(step: str, detail: Any = None) -> None:
    print(f"\n▶ {step}")
    if detail is not None:
        text = (
            detail if isinstance(detail, str) else json.dumps(detail, indent=2, ensure_ascii=False)
        )
        print("  " + text.replace("\n", "\n  "))


def run_demo() -> int:
    from citizenbus.cli import local_token
    from functions.shared.routing import agency_queue

    with LocalBus() as bus:
        token = local_token("demo-citizen")
        say("A citizen reports a pothole in the app")
        filed = bus.request(
            "POST",
            "/app/v1/requests",
            headers={"Authorization": f"Bearer {token}"},
            json_body={
                "service_code": "street-damage",
                "attributes": {"address": "Storgatan 1"},
                "description": "Deep hole by the bus stop",
                "language": "en",
            },
        ).json()
        say(f"Filed: reference {filed['reference']}, status {filed['status']}")
        bus.pump()
        messages = bus.queue_messages(agency_queue("streets"))
        say(
            "Routed over EventBridge to the streets department's queue as a CloudEvent",
            messages[-1]["detail"],
        )

        from citizenbus.local.phone import sms_params, twilio_request

        say("Another citizen texts 'SOPOR Sopvägen 2' (a Twilio webhook, signature checked)")
        twiml = twilio_request(
            bus, "/channels/sms", sms_params("+46701234567", "SOPOR Sopvägen 2")
        ).text
        say("The TwiML reply", twiml)
        bus.pump()
        say(
            "Routed to the waste department's queue: channel sms, no phone number",
            bus.queue_messages(agency_queue("waste"))[-1]["detail"]["data"],
        )
    return 0

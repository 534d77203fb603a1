"""Requests filed by SMS and phone are the same CloudEvents as any other channel's, and the
phone number shows up nowhere but the stored contact: not on the bus, not in the logs."""

from __future__ import annotations

import io
import json

from citizenbus.local.phone import call_params, sid, sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from schemas.events import RequestEvent
from tests.support.tokens import auth

ANNA = "+46701234567"


def test_sms_app_and_voice_events_have_the_same_shape(bus: LocalBus) -> None:
    twilio_request(bus, "/channels/sms", sms_params(ANNA, "GATA Storgatan 1 hål"))
    bus.request(
        "POST",
        "/app/v1/requests",
        headers=auth("someone"),
        json_body={"service_code": "street-damage", "attributes": {"address": "Storgatan 3"}},
    )
    call_sid = sid("CA")
    steps = [
        ("/channels/voice?step=language&lang=sv&n=0", {"Digits": "1"}),
        ("/channels/voice?step=choose&lang=sv&n=0", {"Digits": "2"}),
        (
            "/channels/voice?step=answer&lang=sv&service=street-damage&attr=address&n=0",
            {"SpeechResult": "Storgatan 5."},
        ),
        ("/channels/voice?step=answer&lang=sv&service=street-damage&attr=description&n=0", {}),
        ("/channels/voice?step=confirmed&lang=sv&service=street-damage&n=0", {"Digits": "1"}),
    ]
    for path, extra in steps:
        response = twilio_request(bus, path, call_params(ANNA, call_sid) | extra)
        assert response.status == 200, (path, response.text)
    bus.pump()
    messages = bus.queue_messages(agency_queue("streets"))
    by_channel = {m["detail"]["data"]["channel"]: m for m in messages}
    assert set(by_channel) == {"sms", "app", "voice"}
    shapes = {
        channel: (sorted(m), sorted(m["detail"]), sorted(m["detail"]["data"]))
        for channel, m in by_channel.items()
    }
    assert shapes["sms"] == shapes["app"] == shapes["voice"]
    for message in messages:
        event = RequestEvent.model_validate(message["detail"])
        assert event.type == "org.citizenbus.request.submitted.v1"
    # SMS and voice from the same number are the same citizen; the app user is another.
    citizens = {c: m["detail"]["data"]["citizen"] for c, m in by_channel.items()}
    assert citizens["sms"] == citizens["voice"] != citizens["app"]
    assert "701234567" not in json.dumps(messages)


def test_the_phone_number_and_personal_code_never_reach_the_logs(bus: LocalBus) -> None:
    from functions.platform.observability import logger

    previous = logger.log_level
    logger.setLevel("DEBUG")
    buffer = io.StringIO()
    handler = logger.registered_handler
    stream = handler.setStream(buffer)
    try:
        for body in ("DEKL 7654321", "87654329", "STATUS", "STOP", "START", "GATA"):
            twilio_request(bus, "/channels/sms", sms_params(ANNA, body))
        twilio_request(bus, "/channels/voice", call_params(ANNA, sid("CA")))
        bus.pump()
    finally:
        logger.setLevel(previous)
        handler.setStream(stream)
    logs = buffer.getvalue()
    assert "sms filed a request" in logs  # the logs were captured
    assert "701234567" not in logs and "87654329" not in logs and "7654321" not in logs

"""Twilio Voice webhook: ``POST /channels/voice``, the phone menu (IVR) step by step.

The signature is checked over the full URL (the step lives in its query string) and every
posted parameter before anything is read; a forged request gets 403 and nothing is stored.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.citizens.phone import caller
from functions.platform.catalog import get_catalog
from functions.platform.errors import ApiError
from functions.platform.http import install_throttle_answer
from functions.platform.observability import logger, metrics
from functions.platform.twilio_webhook import Forbidden, public_base, route_path, verified_form
from functions.voice.ivr import Ivr
from functions.voice.prompts import menu_languages, prompt, say_attributes

app = APIGatewayHttpResolver()

XML = "application/xml"
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")


def twiml(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type=XML, body=body)


def hang_up(status: int, key: str | None) -> Response[str]:
    from twilio.twiml.voice_response import VoiceResponse  # noqa: PLC0415 - twilio off the cold start

    response = VoiceResponse()
    if key:
        for language in menu_languages():
            response.say(prompt(key, language), **say_attributes(language))
    response.hangup()
    return twiml(status, str(response))


@app.exception_handler(Forbidden)
def _forbidden(exc: Forbidden) -> Response[str]:
    metrics.add_metric(name="TwilioSignatureRejected", unit="Count", value=1)
    logger.warning("twilio webhook refused", extra={"reason": str(exc)})
    return hang_up(403, None)


@app.exception_handler(ApiError)
def _bad_request(exc: ApiError) -> Response[str]:
    logger.info("twilio webhook bad request", extra={"status": exc.status})
    return hang_up(exc.status, None)


@app.not_found
def _not_found(exc: NotFoundError) -> Response[str]:
    return hang_up(404, None)


# DynamoDB throttled past the retries: 503 (Twilio retries the step), not a 500.
install_throttle_answer(
    app, lambda: twiml(503, '<?xml version="1.0" encoding="UTF-8"?><Response />')
)


@app.post("/channels/voice")
def voice() -> Response[str]:
    event = app.current_event
    form = verified_form(event)
    call_sid = form.first("CallSid")
    if not CALL_SID.match(call_sid):
        return hang_up(400, None)
    catalog = get_catalog()
    who = caller(form.first("From"), catalog.jurisdiction.phone_region)
    if who is None:
        return hang_up(200, "no_caller")
    params = dict(event.query_string_parameters or {})
    fields = {name: form.first(name) for name in ("Digits", "SpeechResult")}
    ivr = Ivr(public_base(event) + route_path(event), catalog, who, call_sid, params, fields)
    response = ivr.respond()
    logger.info(
        "call step",
        extra={"call_sid": call_sid, "step": params.get("step", "welcome"), "citizen": who.citizen},
    )
    return twiml(200, str(response))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""Twilio Messaging webhooks: ``POST /channels/sms`` and ``POST /channels/sms/status``.

Every request is checked against ``X-Twilio-Signature`` before anything is read (403 and
nothing stored otherwise). Inbound texts are answered with TwiML in the keyword's language;
the reply to a ``MessageSid`` is kept on the idempotency table, written in the same
transaction as what the text changes (:mod:`functions.sms.replies`), so a Twilio retry gets
the same reply and never files a second request. Status callbacks record
the delivery status of what the bus sent, for the notifier.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.citizens.notifications import FAILED, request_fallback
from functions.domain.citizens.phone import caller
from functions.domain.citizens.store import CitizenStore
from functions.platform.catalog import get_catalog
from functions.platform.errors import ApiError
from functions.platform.http import install_throttle_answer
from functions.platform.observability import logger, metrics
from functions.platform.twilio_webhook import Forbidden, verified_form
from functions.sms.dialogue import Dialogue, Incoming
from functions.sms.texts import text
from schemas.text import has_control

app = APIGatewayHttpResolver()

XML = "application/xml"
MESSAGE_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
STATUS = re.compile(r"^[a-z_]{1,32}$")
UNSUBSCRIBED = "21610"
CONTROL_REPLY = (
    "Body: meddelandet innehåller styrtecken, skicka det igen utan dem. "
    "Body: the message holds control characters, send it again without them."
)  # Twilio: the recipient has replied STOP to this sender


def twiml(status: int, message: str | None = None) -> Response[str]:
    from twilio.twiml.messaging_response import MessagingResponse  # noqa: PLC0415 - twilio off the cold start

    response = MessagingResponse()
    if message:
        response.message(message)
    return Response(status_code=status, content_type=XML, body=str(response))


@app.exception_handler(Forbidden)
def _forbidden(exc: Forbidden) -> Response[str]:
    metrics.add_metric(name="TwilioSignatureRejected", unit="Count", value=1)
    logger.warning("twilio webhook refused", extra={"reason": str(exc)})
    return twiml(403)


@app.exception_handler(ApiError)
def _bad_request(exc: ApiError) -> Response[str]:
    logger.info("twilio webhook bad request", extra={"status": exc.status})
    return twiml(exc.status)


@app.not_found
def _not_found(exc: NotFoundError) -> Response[str]:
    return twiml(404)


# DynamoDB throttled past the retries (the kept reply's table too): 503, and Twilio sends the
# webhook again later.
install_throttle_answer(app, lambda: twiml(503))


@app.post("/channels/sms")
def inbound_sms() -> Response[str]:
    form = verified_form(app.current_event)
    catalog = get_catalog()
    who = caller(form.first("From"), catalog.jurisdiction.phone_region)
    if who is None:
        return twiml(400, f"{text('no_sender', 'sv')} {text('no_sender', 'en')}")
    sid = form.first("MessageSid") or form.first("SmsMessageSid")
    if not MESSAGE_SID.match(sid):
        return twiml(400)
    if has_control(form.first("Body")):
        return twiml(400, CONTROL_REPLY)
    message = Incoming(
        caller=who, message_sid=sid, body=form.first("Body"), opt_out_type=form.first("OptOutType")
    )
    metrics.add_metric(name="SmsReceived", unit="Count", value=1)
    return twiml(200, Dialogue(catalog).reply(message))


@app.post("/channels/sms/status")
def status_callback() -> Response[str]:
    form = verified_form(app.current_event)
    sid = form.first("MessageSid") or form.first("SmsSid")
    status = (form.first("MessageStatus") or form.first("SmsStatus")).lower()
    if not MESSAGE_SID.match(sid) or not STATUS.match(status):
        return twiml(400)
    error_code = form.first("ErrorCode")
    error_code = error_code if error_code.isdigit() else ""
    region = get_catalog().jurisdiction.phone_region
    recipient = caller(form.first("To"), region)
    citizen = recipient.citizen if recipient else None
    citizens = CitizenStore()
    moved = citizens.record_message_status(sid, status, error_code or None, citizen)
    if error_code == UNSUBSCRIBED and citizen and citizens.consent(citizen, "sms") is not False:
        citizens.set_consent(citizen, "sms", False, f"twilio:{UNSUBSCRIBED}")
    elif moved and status in FAILED:
        notification = citizens.message_status(sid) or {}
        if notification.get("reference"):  # one of our notifications: try e-mail instead
            request_fallback(sid)
    logger.info(
        "sms status",
        extra={"message_sid": sid, "status": status, "error_code": error_code, "moved": moved},
    )
    return twiml(200)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""The three ways a notification leaves the bus: SMS (Twilio), e-mail (SES v2), push (SNS).

Each sender returns the provider's message id, or raises :class:`SendFailed` saying whether a
retry can help and whether the recipient has opted out at the provider.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from functions.platform import aws, process, secrets
from functions.platform.settings import get_settings

# Twilio error codes: https://www.twilio.com/docs/api/errors
TWILIO_OPTED_OUT = 21610  # the recipient replied STOP to this sender
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class SendFailed(Exception):
    def __init__(self, message: str, *, retryable: bool, opted_out: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.opted_out = opted_out


@process.once
def twilio_client() -> Any:
    """Twilio's REST client; imported on first SMS only (it is heavy).

    Its HTTP client is Twilio's own unless one is injected (the local bus injects a recording
    client so nothing leaves the machine; the contract tests one that talks to a mock).
    """
    from twilio.rest import Client  # noqa: PLC0415 - twilio on the first SMS, off the cold start

    settings = get_settings()
    return Client(
        settings.twilio_account_sid,
        secrets.value("twilio_auth_token"),
        http_client=process.injected("twilio_http_client"),
    )


def send_sms(to: str, body: str, status_callback: str | None) -> str:
    from twilio.base.exceptions import TwilioRestException  # noqa: PLC0415 - as twilio_client

    settings = get_settings()
    args: dict[str, Any] = {"to": to, "body": body}
    if settings.twilio_messaging_service_sid:
        args["messaging_service_sid"] = settings.twilio_messaging_service_sid
    else:
        args["from_"] = settings.twilio_from_number
    if status_callback:
        args["status_callback"] = status_callback
    try:
        message = twilio_client().messages.create(**args)
    except TwilioRestException as exc:
        raise SendFailed(
            f"twilio {exc.status} code {exc.code}",
            retryable=exc.status in RETRYABLE_STATUS,
            opted_out=exc.code == TWILIO_OPTED_OUT,
        ) from exc
    return str(message.sid)


def send_email(to: str, subject: str, body: str, reference: str) -> str:
    try:
        response = aws.client("sesv2").send_email(
            FromEmailAddress=get_settings().email_from,
            Destination={"ToAddresses": [to]},
            Content={
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                }
            },
            EmailTags=[{"Name": "reference", "Value": reference}],
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        retryable = code in {
            "TooManyRequestsException",
            "Throttling",
            "LimitExceededException",
            "InternalFailure",
        }
        raise SendFailed(f"ses {code}", retryable=retryable) from exc
    return str(response["MessageId"])


def send_push(endpoint_arn: str, title: str, body: str, reference: str) -> str:
    payload = {
        "default": body,
        "GCM": json.dumps(
            {"notification": {"title": title, "body": body}, "data": {"reference": reference}}
        ),
        "APNS": json.dumps(
            {"aps": {"alert": {"title": title, "body": body}}, "reference": reference}
        ),
    }
    try:
        response = aws.client("sns").publish(
            TargetArn=endpoint_arn, Message=json.dumps(payload), MessageStructure="json"
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise SendFailed(f"sns {code}", retryable=code in {"Throttling", "InternalError"}) from exc
    return str(response["MessageId"])

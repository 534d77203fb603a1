"""A pretend Twilio for the local bus: signed SMS and call webhooks, as Twilio sends them.

    python -m citizenbus.local.phone sms +46701234567 'GATA Storgatan 1 deep hole'
    python -m citizenbus.local.phone call +46701234567      # keypad/speech on stdin

Requests are signed with ``TWILIO_AUTH_TOKEN`` over ``CITIZENBUS_PUBLIC_URL`` (defaults: the
local bus's), exactly as Twilio signs them, so they pass the same check as in AWS.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import urllib.request
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit

from functions.platform.settings import LOCAL_TWILIO_AUTH_TOKEN
from functions.platform.twilio_webhook import sign

if TYPE_CHECKING:
    from citizenbus.local.runtime import HttpResponse, LocalBus

FORM = "application/x-www-form-urlencoded"
ACCOUNT_SID = "AC" + "0" * 32
BUS_NUMBER = "+46766861004"


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def sms_params(sender: str, body: str, message_sid: str | None = None) -> dict[str, str]:
    """The parameters of Twilio's inbound Messaging webhook."""
    message_sid = message_sid or sid("SM")
    return {
        "ToCountry": "SE",
        "ToState": "",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "SE",
        "To": BUS_NUMBER,
        "MessagingServiceSid": "MG" + "0" * 32,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def call_params(caller: str, call_sid: str) -> dict[str, str]:
    """The parameters of Twilio's Voice webhook when a call comes in."""
    return {
        "Called": BUS_NUMBER,
        "ToState": "",
        "CallerCountry": "SE",
        "Direction": "inbound",
        "CallerState": "",
        "ToZip": "",
        "CallSid": call_sid,
        "To": BUS_NUMBER,
        "CallerZip": "",
        "ToCountry": "SE",
        "CallToken": "",
        "CalledZip": "",
        "ApiVersion": "2010-04-01",
        "CalledCity": "",
        "CallStatus": "ringing",
        "From": caller,
        "AccountSid": ACCOUNT_SID,
        "CalledCountry": "SE",
        "CallerCity": "",
        "Caller": caller,
        "FromCountry": "SE",
        "ToCity": "",
        "FromCity": "",
        "CalledState": "",
        "FromZip": "",
        "FromState": "",
    }


def post(url: str, params: dict[str, str], token: str | None = None) -> tuple[int, str]:
    """POST ``params`` to ``url`` signed like Twilio; the status and the TwiML answer."""
    signature = sign(url, params, token or os.environ.get("TWILIO_AUTH_TOKEN"))
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(  # noqa: S310 - checked above
        url,
        data=urlencode(params).encode(),
        headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local bus
            return response.status, response.read().decode()
    except HTTPError as exc:
        return exc.code, exc.read().decode()


def twilio_request(
    bus: LocalBus, path: str, params: dict[str, str], signature: str | None = None
) -> HttpResponse:
    """Post a Twilio webhook to an in-process bus, signed over the public URL (tests, demo)."""
    url = _base() + path
    headers = {"Content-Type": FORM}
    headers["X-Twilio-Signature"] = sign(url, params) if signature is None else signature
    return bus.request("POST", path, headers=headers, body=urlencode(params))


def _base() -> str:
    return (os.environ.get("CITIZENBUS_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")


def _sms(sender: str, body: str) -> int:
    status, twiml = post(f"{_base()}/channels/sms", sms_params(sender, body))
    root = ET.fromstring(twiml)  # noqa: S314 - our own local bus's answer
    for message in root.iter("Message"):
        print(message.text)
    return 0 if status == 200 else 1


def _call(caller: str) -> int:
    call_sid = sid("CA")
    url = f"{_base()}/channels/voice"
    params = call_params(caller, call_sid)
    while True:
        status, twiml = post(url, params)
        if status != 200:
            print(f"HTTP {status}")
            return 1
        root = ET.fromstring(twiml)  # noqa: S314 - our own local bus's answer
        for say in root.iter("Say"):
            print(f"  {say.text}")
        gather = root.find("Gather")
        if root.find("Hangup") is not None and gather is None:
            return 0
        redirect = root.find("Redirect")
        answer = input("> ").strip() if gather is not None else ""
        params = call_params(caller, call_sid) | {"CallStatus": "in-progress"}
        if gather is not None and answer:
            url = gather.attrib["action"]
            field = "SpeechResult" if "speech" in gather.attrib.get("input", "") else "Digits"
            if answer.isdigit() or answer in ("#", "*"):
                field = "Digits"
            params[field] = answer.rstrip("#")
        elif redirect is not None and redirect.text:
            url = redirect.text
        else:
            return 0
        if not urlsplit(url).scheme:
            url = _base() + url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citizenbus.local.phone", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sms = commands.add_parser("sms", help="send one text message to the local bus")
    sms.add_argument("sender")
    sms.add_argument("body")
    call = commands.add_parser("call", help="call the local bus (answers on stdin)")
    call.add_argument("caller")
    args = parser.parse_args(argv)
    os.environ.setdefault("TWILIO_AUTH_TOKEN", LOCAL_TWILIO_AUTH_TOKEN)
    if args.command == "sms":
        return _sms(args.sender, args.body)
    return _call(args.caller)


if __name__ == "__main__":
    sys.exit(main())

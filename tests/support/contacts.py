"""Confirmed contacts as tests need them: a contact a citizen confirmed before, a reply by SMS,
the outbox, and the one-time code the bus sent."""

from __future__ import annotations

import json
import re
from typing import Any

from citizenbus.local.outbox import collect
from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from functions.domain.citizens import contacts


def confirmed(*, phone: str | None = None, email: str | None = None) -> None:
    """The citizen confirmed this contact earlier (``JA`` by SMS, or the e-mail's button)."""
    if phone:
        contacts.confirm("phone", phone, "test:earlier")
    if email:
        contacts.confirm("email", email, "test:earlier")


def linked(sub: str, *, phone: str | None = None, email: str | None = None) -> None:
    """The app citizen ``sub`` linked this contact earlier (entered the code sent to it)."""
    from functions.domain.citizens import links
    from functions.domain.citizens.identity import pseudonym
    from functions.domain.citizens.store import CitizenStore

    for kind, value in (("phone", phone), ("email", email)):
        if value:
            links.link(pseudonym("app", sub), kind, value, CitizenStore())


def outbox(bus: LocalBus) -> list[dict[str, Any]]:
    """``GET /_local/outbox``, as JSON."""
    return json.loads(json.dumps(collect(bus)))


def text_bus(bus: LocalBus, phone: str, body: str) -> str:
    """An SMS from ``phone`` to the bus; the reply's TwiML."""
    response = twilio_request(bus, "/channels/sms", sms_params(phone, body))
    assert response.status == 200, response.text
    return response.text


def last_code(bus: LocalBus) -> str:
    """The one-time code in the newest outbox message that holds one."""
    for message in reversed(outbox(bus)):
        found = re.search(r"\b(\d{6})\b", message["body"])
        if found and ("kod" in message["body"] or "code" in message["body"]):
            return found.group(1)
    raise AssertionError("no code was sent")


def confirm_link(message: dict[str, Any]) -> str:
    """The path of the confirmation link in an e-mail (under the public URL)."""
    found = re.search(r"https?://[^/\s]+(/(?:[a-z]{2,3}/)?confirm/[A-Za-z0-9_-]+)", message["body"])
    assert found, message["body"]
    return found.group(1)


def link(bus: LocalBus, sub: str, *, phone: str | None = None, email: str | None = None) -> None:
    """The app citizen ``sub`` links a phone or e-mail: asks for the code, reads it from the
    outbox and enters it (``POST /app/v1/me/contacts`` and ``…/verify``)."""
    from tests.support.tokens import auth

    contact = {"phone": phone} if phone else {"email": email}
    asked = bus.request("POST", "/app/v1/me/contacts", headers=auth(sub), json_body=contact)
    assert asked.status == 202, asked.text
    bus.pump()
    body = contact | {"code": last_code(bus)}
    verified = bus.request("POST", "/app/v1/me/contacts/verify", headers=auth(sub), json_body=body)
    assert verified.status == 200, verified.text

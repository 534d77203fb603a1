"""Citizen identity: pseudonymous ids and normalised contact details.

The bus never carries a phone number or e-mail address; it carries ``cit_…``, a keyed hash of
the citizen's identity on the channel (phone number, app subject, e-mail), so one person who
files by SMS and on the web with the same number is the same citizen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from functions.platform import secrets


class InvalidPhone(ValueError):
    pass


def pseudonym(kind: str, value: str) -> str:
    """A stable pseudonymous citizen id for an identity (``phone``, ``app``, ``email``)."""
    key = secrets.value("pseudonym_key").encode()
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest()
    return "cit_" + base64.b32encode(digest[:15]).decode().lower()


def normalize_phone(raw: str, region: str = "SE") -> str:
    """E.164 form of a phone number, or :class:`InvalidPhone`."""
    import phonenumbers  # noqa: PLC0415 - phonenumbers (~70 ms) only where a number is typed in

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def citizen_for_contact(phone: str | None, email: str | None) -> str:
    """The citizen id of someone known only by contact details (web forms, Open311)."""
    if phone:
        return pseudonym("phone", phone)
    if email:
        return pseudonym("email", email.lower())
    raise ValueError("a phone number or an e-mail address is needed")

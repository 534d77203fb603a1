"""Request references: digits only, the last one a Luhn check digit.

Digits can be typed on a phone keypad, read aloud by the IVR and sent by SMS.
"""

from __future__ import annotations

import secrets

BODY_DIGITS = 9  # plus the check digit: 10 digits, one billion references


def luhn_digit(body: str) -> str:
    """The Luhn check digit for ``body``."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid(reference: str) -> bool:
    """True for 8 to 12 digits whose last digit is the Luhn check digit of the rest."""
    return (
        reference.isascii()
        and reference.isdigit()
        and 8 <= len(reference) <= 12
        and luhn_digit(reference[:-1]) == reference[-1]
    )


def new_reference() -> str:
    """A fresh random reference (no leading zero, so it survives being read as a number)."""
    body = str(secrets.randbelow(9 * 10 ** (BODY_DIGITS - 1)) + 10 ** (BODY_DIGITS - 1))
    return body + luhn_digit(body)

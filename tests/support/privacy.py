"""Whether a personal value shows up in a text (:func:`found_in`, the one matcher), and the
open-data watch: personal data filed in a test must not show up in anything public (an
Open311 answer, the open-data page, an export in S3).

``PublicWatch`` (the ``open_data`` fixture in conftest) files requests with personal data in
them, remembers that data, records every public answer and export the test reads, and at the
end of the test fails if any of the personal data shows up in any of them.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import urlencode

import boto3

from citizenbus.local.runtime import DEFAULT_OPEN311_KEY, HttpResponse, LocalBus
from tests.support.bus import FORM

# -- whether a personal value shows up in a text: the one matcher -----------------------------
# Both watches use it (PublicWatch here, PrivacyWatch in privacy_scan.py). It finds what either
# of the two matchers it replaced found, but for two things: a number inside a longer run of
# digits (the open-data one found 12345678 in 123456789012, moto's account id in every ARN)
# and a value of fewer than four characters once squashed ("@", "1 (2)").
_SEPARATORS = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"[\d\s\-+()]+")
SHORTEST = 4  # forms shorter than this are not looked for: they are in every other text


def squash(text: str) -> str:
    """Case folded, without spaces, dashes, brackets and dots: values and texts are compared
    so, and no case, spacing or punctuation hides a value."""
    return _SEPARATORS.sub("", text.casefold())


def _places(text: str) -> list[int]:
    """Where in ``text`` each character of ``squash(text)`` comes from."""
    return [i for i, char in enumerate(text) for c in char.casefold() if not _SEPARATORS.match(c)]


class Form(NamedTuple):
    text: str  # squashed
    number: bool  # digits only, found only where no other digit is glued on as written


@functools.cache
def forms(value: str) -> frozenset[Form]:
    """The forms ``value`` could be written in; a text holding one holds the value.

    - the value itself: ``Anna.Andersson@Example.se``, ``Storgatan 12B, lgh 1102``, ``Orrefors``;
    - a number's digits run together: ``1234-5678``, ``19850101+1234``;
    - a phone number's national number, bare or after ``0``, ``46`` or ``0046``: ``+46 70 123
      45 67``, ``0046701234567``, ``070-123 45 67`` and ``701234567`` all hold ``701234567``.
      The national number of ``+46…`` is what follows ``+46``, of a Swedish ``0…`` number (8
      digits or more) what follows the ``0``, and of any value with nine digits or more its
      last nine (a number without its country code).

    A number (a value at least three quarters digits) is not found inside a longer one:
    ``12345678`` is in ``1234 5678`` and ``ref 9 12345678``, not in ``123456789012`` (an AWS
    account id); nor is a national number.
    """
    value = value.strip()
    flat = squash(value)
    digits = re.sub(r"\D", "", value)
    number = len(digits) * 4 >= len(value) * 3
    found = {Form(flat, number and flat.isdecimal())}
    if number:
        found.add(Form(digits, True))
    nationals = [digits[-9:]] if len(digits) >= 9 else []
    if value.startswith("+46"):
        nationals.append(digits[2:])
    elif digits.startswith("0") and len(digits) >= 8 and _PHONE.fullmatch(value):
        nationals.append(digits[1:])
    for national in nationals:
        found |= {Form(prefix + national, True) for prefix in ("", "0", "46", "0046")}
    return frozenset(form for form in found if len(form.text) >= SHORTEST)


def _glued(text: str, at: int) -> bool:
    return 0 <= at < len(text) and text[at].isdecimal()


class _Text:
    """A text squashed once, to look for many forms in."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.flat = squash(text)
        self._places: list[int] | None = None

    def holds(self, form: Form) -> bool:
        at = self.flat.find(form.text)
        if not form.number:
            return at >= 0
        while at >= 0:
            if self._places is None:
                self._places = _places(self.text)
            first, last = self._places[at], self._places[at + len(form.text) - 1]
            if not _glued(self.text, first - 1) and not _glued(self.text, last + 1):
                return True
            at = self.flat.find(form.text, at + 1)
        return False


def found_in(text: str, values: Iterable[str]) -> list[str]:
    """The ``values`` that show up in ``text``, in any of their :func:`forms`."""
    squashed = _Text(text)
    return [value for value in values if any(map(squashed.holds, forms(value)))]


# -- the open-data watch -----------------------------------------------------------------------
# Public output holds no e-mail address at all, filed in the test or not.
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


class PublicWatch:
    """Files requests, records public answers, and checks them for the personal data filed."""

    def __init__(self, bus: LocalBus) -> None:
        self.bus = bus
        self.personal: set[str] = set()
        self.seen: list[tuple[str, str]] = []  # (where, text)

    # -- filing --------------------------------------------------------------------------
    def remember(self, *values: str) -> None:
        self.personal.update(v for v in values if v)

    def post_open311(
        self, fields: dict[str, str], fmt: str = "json", headers: dict[str, str] | None = None
    ) -> HttpResponse:
        """POST requests.{fmt} with ``fields`` (api_key added unless given); remembers them."""
        data = {"api_key": DEFAULT_OPEN311_KEY} | fields
        for name in ("email", "phone", "first_name", "last_name"):
            self.remember(data.get(name, ""))
        if data.get("service_code") == "tax-return-approve":
            self.remember(data.get("attribute[personal_code]", ""))
        for name in ("address_string", "attribute[address]"):
            if any(c.isdigit() for c in data.get(name, "")):
                self.remember(data[name])  # the full address: finer than the street
        return self.bus.request(
            "POST",
            f"/open311/v2/requests.{fmt}",
            headers=FORM | (headers or {}),
            body=urlencode(data),
        )

    def file(self, service: str, *, street: str = "Storgatan", **extra: str) -> str:
        """File one request over Open311 with a name, phone and e-mail; its reference."""
        n = len(self.personal)
        fields = {
            "service_code": service,
            "email": f"person{n}@example.se",
            "phone": f"070-{n:03d} 12 34"[:13],
            "first_name": "Zlatana",
            "last_name": f"Orrefors{n}",
        }
        if service == "tax-return-approve":
            fields["attribute[personal_code]"] = f"{40000000 + n:08d}"
        else:
            fields["address_string"] = f"{street} {n + 1}B, lgh 11{n:02d}"
        fields.update(extra)
        response = self.post_open311(fields)
        assert response.status == 201, response.text
        reference: str = response.json()[0]["service_request_id"]
        return reference

    # -- reading -------------------------------------------------------------------------
    def get(self, path: str) -> HttpResponse:
        response = self.bus.request("GET", path)
        self.seen.append((path, response.text))
        return response

    def saw(self, where: str, data: Any) -> None:
        """Record something public that did not come through :meth:`get` (a client's data)."""
        self.seen.append((where, data if isinstance(data, str) else json.dumps(data)))

    def exports(self) -> dict[str, str]:
        """Every object in the open-data bucket, recorded as public."""
        s3 = boto3.client("s3")
        bucket = os.environ["OPEN_DATA_BUCKET"]
        out = {}
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
            out[item["Key"]] = body
            self.seen.append((f"s3://{bucket}/{item['Key']}", body))
        return out

    # -- the check -------------------------------------------------------------------------
    def leaks(self) -> list[str]:
        found = []
        for where, text in self.seen:
            found += [f"{value!r} in {where}" for value in found_in(text, self.personal)]
            found += [f"e-mail {m!r} in {where}" for m in EMAIL_RE.findall(text)]
        return found

    def assert_clean(self) -> None:
        assert self.seen, "the test read nothing public"
        leaks = self.leaks()
        assert not leaks, "personal data in public output: " + "; ".join(leaks)

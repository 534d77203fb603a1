"""The open-data privacy watch: personal data filed in a test must not show up in anything
public (an Open311 answer, the open-data page, an export in S3).

``PublicWatch`` (the ``open_data`` fixture in conftest) files requests with personal data in
them, remembers that data, records every public answer and export the test reads, and at the
end of the test fails if any of the personal data shows up in any of them.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlencode

import boto3

from citizenbus.local.runtime import DEFAULT_OPEN311_KEY, HttpResponse, LocalBus
from tests.support.bus import FORM

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def _squash(text: str) -> str:
    return re.sub(r"[\s\-().]", "", text.lower())


def variants(value: str) -> set[str]:
    """The forms a personal value could leak in (phone numbers in national and E.164 form)."""
    out = {_squash(value)}
    digits = re.sub(r"\D", "", value)
    if value.startswith("+46"):
        out |= {"0" + digits[2:], digits[2:]}
    elif digits.startswith("0") and len(digits) >= 8 and re.fullmatch(r"[\d\s\-+()]+", value):
        out |= {"+46" + digits[1:], "46" + digits[1:], digits[1:]}
    return {v for v in out if len(v) >= 4}


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
            squashed = _squash(text)
            for value in self.personal:
                if any(v in squashed for v in variants(value)):
                    found.append(f"{value!r} in {where}")
            found += [f"e-mail {m!r} in {where}" for m in EMAIL_RE.findall(text)]
        return found

    def assert_clean(self) -> None:
        assert self.seen, "the test read nothing public"
        leaks = self.leaks()
        assert not leaks, "personal data in public output: " + "; ".join(leaks)

"""Privacy rules of open data, and the watch that scans every public answer in the tests.

``PublicWatch`` (the ``open_data`` fixture in conftest) files requests with personal data in
them, remembers that data, records every public answer and export the test reads, and at the
end of the test fails if any of the personal data shows up in any of them.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from citizenbus.local.runtime import DEFAULT_OPEN311_KEY, HttpResponse, LocalBus
from functions.domain.open_data.privacy import scrub, street_only
from functions.domain.requests.store import RequestStore

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
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


def move(reference: str, *steps: tuple[str, datetime], note: str | None = None) -> None:
    """Change a request's status the way the agency API does (``RequestStore.update``)."""
    store = RequestStore()
    for status, at in steps:
        record = store.get(reference)
        assert record is not None
        stamp = at.isoformat(timespec="seconds").replace("+00:00", "Z")
        entry = {"status": status, "at": stamp, "by": "agency:test"} | (
            {"note": note} if note else {}
        )
        store.update(
            reference, record["version"], {"status": status, "updated_at": stamp}, entry, None
        )


# -- the rules themselves ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "street"),
    [
        ("Storgatan 12B, lgh 1102", "Storgatan"),
        ("Storgatan 12 B", "Storgatan"),
        ("S:t Eriksgatan 10, 2 tr", "S:t Eriksgatan"),
        ("Sopvägen 2, 123 45 Demostad", "Sopvägen"),
        ("12 Main Street Apt 4", "Main Street"),
        ("Kungsgatan", "Kungsgatan"),
        ("Storgatan lgh 1102", "Storgatan"),
        ("1102", None),
    ],
)
def test_addresses_are_cut_to_the_street(address: str, street: str | None) -> None:
    assert street_only(address) == street


def test_scrub_removes_contact_details_identity_numbers_and_codes() -> None:
    text = (
        "Ring mig på 070-123 45 67 eller +46 8 123 456 78, mejla anna.svensson@example.se. "
        "Personnummer 850101-1234 och 198501011234, kod 12345678. Hålet är 2 meter brett."
    )
    cleaned = scrub(text)
    for secret in (
        "123 45 67",
        "123 456 78",
        "anna.svensson",
        "850101",
        "198501011234",
        "12345678",
    ):
        assert secret not in cleaned
    assert "Hålet är 2 meter brett." in cleaned and "Ring mig på" in cleaned


def test_scrub_removes_the_filers_own_values_in_any_spacing() -> None:
    cleaned = scrub("Svara till 0 7 0 9 9 9 8 8 7 7 tack", known=("+46709998877",))
    assert "9998877" not in cleaned.replace(" ", "")


def test_the_watch_finds_a_leak(bus: LocalBus) -> None:
    watch = PublicWatch(bus)
    watch.remember("+46701112233", "anna@example.se")
    watch.saw("leaky", {"note": "call 070-111 22 33"})
    assert watch.leaks() == ["'+46701112233' in leaky"]
    watch.saw("leaky2", "mail ANNA@example.se")
    assert len(watch.leaks()) == 3  # the value and the generic e-mail pattern


def test_nothing_personal_is_published_for_any_service(open_data: PublicWatch) -> None:
    now = datetime.now(UTC)
    pothole = open_data.file(
        "street-damage",
        description="Djupt hål. Ring 070-555 66 77, anna@example.se, pnr 850101-1234.",
    )
    tax = open_data.file("tax-return-approve")
    waste = open_data.file("missed-waste-collection", description="Tunnan vid port 3 hos Orrefors")
    open_data.remember("070-555 66 77", "anna@example.se", "850101-1234", "Orrefors")
    move(pothole, ("in_progress", now), note="Vi ringde 070-555 66 77")
    got = {r["service_request_id"]: r for r in open_data.get("/open311/v2/requests.json").json()}
    assert got[pothole]["description"] == "Djupt hål. Ring […], […], pnr […]."
    assert got[pothole]["address"] == "Storgatan"
    assert got[pothole]["status_notes"] == "Vi ringde […]"
    assert got[tax]["description"] is None and got[tax]["address"] is None
    assert got[waste]["description"] is None  # the service does not publish free text
    for reference in (pothole, tax, waste):
        open_data.get(f"/open311/v2/requests/{reference}.xml")
    assert "lat" not in got[pothole] and "long" not in got[pothole]
    # the contact details are stored, privately
    record = RequestStore().get(tax)
    assert record is not None and record["personal"]["personal_code"].startswith("4000")
    assert record["contact"]["email"].endswith("@example.se") and record["channel"] == "open311"

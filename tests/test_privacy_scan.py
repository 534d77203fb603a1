"""The privacy watch itself (``tests/support/privacy_scan.py``, run around every test by conftest):
it finds filed values in any format, and the leaks it found stay fixed."""

from __future__ import annotations

import json
import logging

import pytest

from citizenbus.local.runtime import LocalBus
from tests.support.privacy import PublicWatch, found_in
from tests.support.privacy_scan import PrivacyWatch

PHONE = "+46701234567"


def test_the_watch_finds_personal_values_in_any_format() -> None:
    watch = PrivacyWatch()
    watch.learn("phone", PHONE)
    watch.learn("email", "Anna.Andersson@example.se")
    watch.learn("code", "1234-5678")
    for leak in (
        "call 070-123 45 67",
        "+46 70 123 45 67",
        "0046701234567",
        "(070) 1234567",
        "mail ANNA.ANDERSSON@EXAMPLE.SE",
        "code 12345678",
        '{"personal_code": "1234 5678"}',
    ):
        assert watch.leaks([("log", leak)]), leak
    for clean in (
        "reference 7944177828",
        "at 1795366035516",
        "cit_kjh55bzhlxnbcenj7uu6pibq",
        "+46766861004",
        "00000000",
        "anna@example.org",
    ):
        assert not watch.leaks([("log", clean)]), clean


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # what the suite-wide watch looked for
        ("+46701234567", "call 070-123 45 67"),
        ("+46701234567", "0046701234567"),
        ("Anna.Andersson@example.se", "mail ANNA.ANDERSSON@EXAMPLE.SE"),
        ("19850101+1234", "pnr 198501011234"),  # a code's digits, run together
        ("1234-5678", '{"personal_code": "1234 5678"}'),
        # what the open-data watch looked for
        ("070-555 66 77", "+46705556677"),
        ("070-555 66 77", "46 70 555 66 77"),
        ("08-123 456", "+468123456"),  # a short national number
        ("Orrefors", "Tunnan hos ORREFORS"),
        ("Storgatan 12B, lgh 1102", "storgatan 12 B, lgh 1102"),
        ("anna.svensson@example.se", "annasvensson@example se"),
        ("+46701234567", "at 12:00 0701234567"),  # after other digits, as written apart
        ("00000000", "code 0000-0000"),  # a code with few distinct digits
    ],
)
def test_one_matcher_finds_every_format_either_watch_looked_for(value: str, text: str) -> None:
    assert found_in(text, [value]) == [value]
    watch = PrivacyWatch()
    watch.learn("code", value)
    assert watch.leaks([("log", text)]), text
    public = PublicWatch(bus=None)  # (matching needs no bus)
    public.remember(value)
    public.saw("public", text)
    assert public.leaks(), text


def test_a_number_is_not_found_inside_a_longer_one() -> None:
    arn = "arn:aws:lambda:eu-north-1:123456789012:function:citizenbus-eservice"
    assert found_in(arn, ["12345678", "2345-6789", "+46123456789"]) == []
    assert found_in(f"{arn} code 1234 5678", ["12345678"]) == ["12345678"]


def test_the_watch_records_log_lines_and_bus_events(
    bus: LocalBus, privacy_watch: PrivacyWatch
) -> None:
    response = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={"address": "Storgatan 1", "phone": PHONE, "notify_by": "sms", "consent": True},
    )
    assert response.status == 201
    assert PHONE in privacy_watch.values  # learned as it was filed
    bus.pump()
    assert any(w.startswith("bus event") for w, _ in privacy_watch.places)
    # The handlers' own INFO lines are recorded (Powertools logger, through the root logger).
    assert any("request filed" in line for line in privacy_watch.records.lines)
    assert not privacy_watch.leaks()
    planted = logging.LogRecord(
        "citizenbus", logging.INFO, "x", 1, "debug %s", ("0701234567",), None
    )
    privacy_watch.records.emit(planted)
    assert privacy_watch.leaks()  # the number in another format is caught
    privacy_watch.records.lines.pop()  # (this test's own planted leak)


def test_free_text_and_agency_notes_on_the_bus_hold_no_personal_values(
    bus: LocalBus, privacy_watch: PrivacyWatch
) -> None:
    """The leak the watch found: the citizen's number written into the description, and an
    agency's note naming the citizen, travelled on the bus. Both are scrubbed now."""
    filed = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={
            "address": "Storgatan 1",
            "description": "Deep hole, ring me on 070 123 45 67 or anna@example.se",
            "phone": PHONE,
            "email": "anna@example.se",
            "notify_by": "sms",
            "consent": True,
        },
    ).json()
    bus.request(
        "POST",
        f"/agency/v1/requests/{filed['reference']}/status",
        headers={"Authorization": "Bearer local-streets-key"},
        json_body={"status": "in_progress", "note": f"Called {PHONE}, crew booked"},
    )
    bus.pump()
    delivered = json.dumps(bus.queue_messages("citizenbus-agency-streets"))
    assert filed["reference"] in delivered
    assert "Deep hole, ring me on" in delivered and "crew booked" in delivered
    for value in ("701234567", "123 45 67", "anna@example.se"):
        assert value not in delivered, value
    # The agency still gets the whole text through the audited agency API.
    view = bus.request(
        "GET",
        f"/agency/v1/requests/{filed['reference']}",
        headers={"Authorization": "Bearer local-streets-key"},
    ).json()
    assert "070 123 45 67" in view["attributes"]["description"]
    assert not privacy_watch.leaks()

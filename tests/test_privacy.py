"""Privacy rules of open data, and the watch that scans every public answer in the tests
(``PublicWatch`` in ``tests/support/privacy.py``, the ``open_data`` fixture in conftest)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.open_data.privacy import scrub, street_only
from functions.domain.requests.store import RequestStore
from tests.support.bus import move
from tests.support.privacy import PublicWatch


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

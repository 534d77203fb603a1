"""Assurance levels (issue 17): the app token's ``acr`` names its eIDAS level; a service may
require a minimum (catalog data); a high-assurance identity proves what the tax return's
personal code would, while lower tokens, SMS and the phone keep asking for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from citizenbus.cli import local_token
from citizenbus.local.runtime import LocalBus
from functions.platform import process
from schemas.catalog import CATALOG_PATH, load_catalog
from tests.support.bus import count_items, nothing_stored
from tests.support.contacts import text_bus
from tests.support.tokens import auth

TAX_BARE = {"service_code": "tax-return-approve", "attributes": {}}


def test_a_high_token_approves_the_tax_return_without_a_personal_code(bus: LocalBus) -> None:
    filed = bus.request(
        "POST", "/app/v1/requests", headers=auth("anna", "high"), json_body=TAX_BARE
    )
    assert filed.status == 201, filed.text
    reference = filed.json()["reference"]
    seen = bus.request(
        "GET",
        f"/agency/v1/requests/{reference}",
        headers={"Authorization": "Bearer local-tax-key"},
    )
    assert seen.status == 200
    assert seen.json()["assurance"] == "high"  # the agency sees why no code came
    assert seen.json()["personal_attributes"] == {}


@pytest.mark.parametrize("acr", [None, "low", "substantial", "urn:some-other-broker:strong"])
def test_lower_tokens_are_still_asked_for_the_personal_code(bus: LocalBus, acr: str | None) -> None:
    answer = bus.request("POST", "/app/v1/requests", headers=auth("anna", acr), json_body=TAX_BARE)
    assert answer.status == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["attributes.personal_code"]
    assert nothing_stored()


def test_a_high_token_with_a_code_still_validates_it(bus: LocalBus) -> None:
    body = {"service_code": "tax-return-approve", "attributes": {"personal_code": "123"}}
    answer = bus.request("POST", "/app/v1/requests", headers=auth("anna", "high"), json_body=body)
    assert answer.status == 400
    assert answer.json()["errors"][0]["field"] == "attributes.personal_code"


def test_sms_keeps_asking_for_the_personal_code(bus: LocalBus) -> None:
    asked = text_bus(bus, "+46701234567", "DEKL")
    assert "Personlig kod" in asked
    assert count_items("requests") == 0


def test_the_swedish_e_id_framework_levels_are_understood(bus: LocalBus) -> None:
    loa4 = auth("anna", "http://id.elegnamnden.se/loa/1.0/loa4")
    filed = bus.request("POST", "/app/v1/requests", headers=loa4, json_body=TAX_BARE)
    assert filed.status == 201, filed.text


@pytest.fixture
def strict_catalog(tmp_path: Path) -> Iterator[None]:
    """The demo catalog with street damage needing a substantial identity in the app."""
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    for service in data["services"]:
        if service["service_code"] == "street-damage":
            service["assurance"] = "substantial"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    service = load_catalog(str(path)).service("street-damage")
    assert service is not None and service.assurance == "substantial"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CATALOG_PATH", str(path))
        process.reset()
        yield
    process.reset()


def test_a_token_below_the_services_minimum_gets_403_naming_assurance(
    strict_catalog: None,
) -> None:
    street = {"service_code": "street-damage", "attributes": {"address": "Storgatan 1"}}
    with LocalBus() as bus:
        for acr in (None, "low"):
            refused = bus.request(
                "POST", "/app/v1/requests", headers=auth("anna", acr), json_body=street
            )
            assert refused.status == 403
            assert refused.json()["errors"][0]["field"] == "assurance"
        assert nothing_stored()
        for acr in ("substantial", "high"):
            ok = bus.request(
                "POST", "/app/v1/requests", headers=auth("anna", acr), json_body=street
            )
            assert ok.status == 201, ok.text
        # SMS proves no identity level and is not refused by it (another door: not a me too).
        assert "Ärendenummer" in text_bus(bus, "+46701234567", "GATA Storgatan 2")


def test_citizenbus_token_mints_the_level_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import jwt

    from citizenbus.local.runtime import DEFAULT_JWT_SECRET

    monkeypatch.delenv("CITIZENBUS_JWT_SECRET", raising=False)
    token = local_token("anna", acr="high")
    claims = jwt.decode(token, DEFAULT_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "anna"
    assert claims["acr"] == "http://eidas.europa.eu/LoA/high"
    assert "acr" not in jwt.decode(local_token("bo"), DEFAULT_JWT_SECRET, algorithms=["HS256"])

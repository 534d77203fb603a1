import json

import pytest
from pydantic import ValidationError

from schemas import export
from schemas.catalog import CATALOG_PATH, Catalog, load_catalog
from schemas.lifecycle import Status, can_transition


def test_contract_services_are_in_the_catalog() -> None:
    catalog = load_catalog()
    expected = {
        "tax-return-approve": ("tax", "DEKL", "TAX", "personal_code"),
        "street-damage": ("streets", "GATA", "STREET", "address"),
        "missed-waste-collection": ("waste", "SOPOR", "WASTE", "address"),
    }
    for code, (agency, sv, en, required) in expected.items():
        service = catalog.service(code)
        assert service is not None
        assert service.agency == agency
        assert (service.keywords.sv, service.keywords.en) == (sv, en)
        attribute = service.attribute(required)
        assert attribute is not None and attribute.required
    personal_code = catalog.service("tax-return-approve").attribute("personal_code")
    assert personal_code is not None and personal_code.personal
    assert personal_code.problem("12345678") is None
    assert personal_code.problem("1234567") is not None
    assert personal_code.problem("1234567a") is not None
    street = catalog.service("street-damage")
    assert street is not None
    description = street.attribute("description")
    assert description is not None and not description.required


def test_keywords_are_found_in_either_language_and_any_case() -> None:
    catalog = load_catalog()
    found = catalog.by_keyword("gata")
    assert found is not None and found[0].service_code == "street-damage" and found[1] == "sv"
    found = catalog.by_keyword("Waste")
    assert found is not None and found[1] == "en"
    assert catalog.by_keyword("PIZZA") is None


def test_a_catalog_with_an_unknown_agency_or_duplicate_keyword_is_refused() -> None:
    data = json.loads(CATALOG_PATH.read_text())
    data["services"][0]["agency"] = "nobody"
    with pytest.raises(ValidationError, match="unknown agency"):
        Catalog.model_validate(data)
    data = json.loads(CATALOG_PATH.read_text())
    data["services"][1]["keywords"]["en"] = "TAX"
    with pytest.raises(ValidationError, match="keywords must be unique"):
        Catalog.model_validate(data)


def test_lifecycle_allows_only_the_contract_transitions() -> None:
    allowed = {
        ("received", "in_progress"),
        ("in_progress", "needs_info"),
        ("needs_info", "in_progress"),
        ("in_progress", "resolved"),
        ("in_progress", "rejected"),
        ("needs_info", "resolved"),
        ("needs_info", "rejected"),
        # issue 18: the citizen reopens a resolved request; the agency takes it up again
        ("resolved", "reopened"),
        ("reopened", "in_progress"),
    }
    for a in Status:
        for b in Status:
            assert can_transition(a, b) == ((a.value, b.value) in allowed), (a, b)
    assert Status.RESOLVED.open311 == "closed" and Status.NEEDS_INFO.open311 == "open"
    assert Status.REOPENED.open311 == "open"


def test_json_schemas_in_the_repository_are_current() -> None:
    assert export.main(["--check"]) == 0, "run: make schemas"

"""The OpenAPI document of the open-data routes is current, valid, and matches real answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_schema_validator import validate
from openapi_spec_validator import validate as validate_spec

from schemas import openapi
from tests.support.privacy import PublicWatch

DOC: dict[str, Any] = json.loads(openapi.OUTPUT.read_text(encoding="utf-8"))


def test_the_document_is_current_and_valid() -> None:
    assert openapi.OUTPUT.read_text(encoding="utf-8") == openapi.render(), (
        "schemas/openapi-open311.json is stale: run `make schemas`"
    )
    validate_spec(DOC)


def response_schema(path: str, method: str, status: str, media: str) -> dict[str, Any]:
    schema = DOC["paths"][path][method]["responses"][status]["content"][media]["schema"]
    return dict(schema) | {"components": DOC["components"]}


def fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def test_real_answers_match_the_document(open_data: PublicWatch) -> None:
    reference = open_data.file("street-damage", description="Hål i gatan")
    posted = open_data.post_open311(
        {"service_code": "missed-waste-collection", "address_string": "Sopvägen 3"}
    )
    validate(
        posted.json(),
        response_schema("/open311/v2/requests.{format}", "post", "201", "application/json"),
    )
    token = posted.json()[0]["token"]
    values = {
        "format": "json",
        "service_code": "street-damage",
        "service_request_id": reference,
        "token": token,
        "name": "dictionary.md",
    }
    open_data.bus.invoke("open_data_export", {})  # the bulk files
    for path, operations in DOC["paths"].items():
        if "get" not in operations:
            continue
        response = open_data.get(fill(path, values))
        assert response.status == 200, (path, response.text)
        media = response.headers["Content-Type"].split(";")[0]
        if media == "application/json":
            validate(response.json(), response_schema(path, "get", "200", media))
        else:
            assert media in DOC["paths"][path]["get"]["responses"]["200"]["content"]
    error = open_data.get("/open311/v2/requests.json?page=x")
    validate(
        error.json(),
        response_schema("/open311/v2/requests.{format}", "get", "400", "application/json"),
    )
    stats = open_data.get("/open-data/v1/stats.json").json()
    validate(stats, response_schema("/open-data/v1/stats.json", "get", "200", "application/json"))


@pytest.mark.parametrize("path", sorted(DOC["paths"]))
def test_every_documented_path_is_a_route_of_the_topology(path: str) -> None:
    from functions import topology

    routes = [r.path for f in topology.FUNCTIONS for r in f.routes]
    concrete = path.replace(".{format}", ".json")
    segments = concrete.strip("/").split("/")

    def matches(route: str) -> bool:
        parts = route.strip("/").split("/")
        return len(parts) == len(segments) and all(
            p == s or p.startswith("{") for p, s in zip(parts, segments, strict=True)
        )

    assert any(matches(r) for r in routes), f"{path} has no route in functions/topology.py"


def test_the_check_would_catch_a_drifted_answer() -> None:
    from jsonschema.exceptions import ValidationError

    schema = response_schema("/open311/v2/requests.{format}", "get", "200", "application/json")
    good = {
        "service_request_id": "1234567897",
        "status": "open",
        "service_name": "Street damage",
        "service_code": "street-damage",
        "agency_responsible": "Streets",
        "requested_datetime": "2026-01-01T00:00:00Z",
        "updated_datetime": "2026-01-01T00:00:00Z",
        "expected_datetime": "2026-01-15T00:00:00Z",
    }
    validate([good], schema)
    for bad in ({"status": "pending"}, {"lat": 59.3}, {"service_request_id": 1234567897}):
        with pytest.raises(ValidationError):
            validate([good | bad], schema)

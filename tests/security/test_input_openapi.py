"""Schemathesis against ``schemas/openapi-open311.json``, and hypothesis on every schema model.

Schemathesis draws requests for every operation of the Open311 OpenAPI document, positive
(what the document allows) and negative (what it forbids), and sends them through the local
bus. No answer is a 5xx; an answer to a valid request conforms to the document (status code
documented, content type, body schema); an answer to an invalid one is a 4xx Open311 error.

Every pydantic model behind ``schemas/json`` gets arbitrary JSON using its own field names:
it either validates or raises ``ValidationError`` (never anything else), and whatever it
accepts also satisfies the exported JSON Schema and survives a round trip.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from citizenbus.local.runtime import LocalBus
from tests.support.strategies import json_objects, json_value, tried

ROOT = Path(__file__).resolve().parents[2]
OPEN311 = json.loads((ROOT / "schemas" / "openapi-open311.json").read_text())
CITIZEN = json.loads((ROOT / "schemas" / "openapi-citizen.json").read_text())


def operations(document: dict[str, Any]) -> list[Any]:
    import schemathesis

    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


OPERATIONS = operations(OPEN311)
CITIZEN_OPERATIONS = operations(CITIZEN)


def negatable(operation: Any) -> bool:
    """Operations with something to get wrong (parameters or a body)."""
    return bool(list(operation.iter_parameters())) or bool(
        operation.get_request_payload_content_types()
    )


CASES = [(op, "positive") for op in OPERATIONS] + [
    (op, "negative") for op in OPERATIONS if negatable(op)
]


def conformance() -> list[Any]:
    """The document's promises about answers (not schemathesis' opinions on business rules)."""
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [status_code_conformance, content_type_conformance, response_schema_conformance]


def as_response(case: Any, answer: Any, url: str) -> Any:
    from schemathesis.core.transport import Response

    return Response(
        status_code=answer.status,
        headers={k.lower(): [v] for k, v in answer.headers.items()},
        content=answer.body,
        request=requests.Request(case.method, url).prepare(),
        elapsed=0.0,
        verify=True,
    )


@pytest.mark.parametrize(
    ("operation", "mode"), CASES, ids=lambda o: o if isinstance(o, str) else f"{o.method} {o.path}"
)
def test_open311_openapi_operations(shared_bus: LocalBus, operation: Any, mode: str) -> None:
    from schemathesis import GenerationMode
    from schemathesis.core import NotSet

    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE

    @given(case=operation.as_strategy(generation_mode=generation))
    def run(case: Any) -> None:
        tried("openapi")
        query = urlencode(case.query or {}, doseq=True)
        path = case.formatted_path + (f"?{query}" if query else "")
        kwargs: dict[str, Any] = {"headers": dict(case.headers or {})}
        if not isinstance(case.body, NotSet) and case.body is not None:
            body = case.body
            media = case.media_type or "application/x-www-form-urlencoded"
            kwargs["headers"]["Content-Type"] = media
            kwargs["body"] = (
                urlencode(body, doseq=True)
                if isinstance(body, dict) and "json" not in media
                else json.dumps(body)
                if "json" in media
                else str(body)
            )
        answer = shared_bus.request(case.method, path, **kwargs)
        assert answer.status < 500, (case.method, path, answer.status, answer.body[:300])
        if answer.status >= 400:
            text = answer.body.decode()
            if path.startswith("/open311/"):  # Open311's own error arrays
                assert '"description"' in text or "<description>" in text, text[:300]
            else:  # the bus's other routes: {"errors": [{"field", "message"}]}
                assert json.loads(text)["errors"][0]["field"], text[:300]
        elif mode == "positive":
            response = as_response(case, answer, "http://127.0.0.1:8000" + path)
            case.validate_response(response, checks=conformance())

    run()


@pytest.mark.parametrize(
    ("operation", "mode"),
    [(op, m) for op in CITIZEN_OPERATIONS for m in ("positive", "negative")],
    ids=lambda o: o if isinstance(o, str) else f"{o.method} {o.path}",
)
def test_citizen_and_agency_openapi_operations(
    shared_bus: LocalBus, operation: Any, mode: str
) -> None:
    """``schemas/openapi-citizen.json``: with the right credentials, valid requests get
    answers that conform to the document, invalid ones a 4xx ``{"errors": [...]}``."""
    from schemathesis import GenerationMode
    from schemathesis.core import NotSet

    from tests.support.tokens import auth

    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    credentials = (
        {"Authorization": "Bearer local-streets-key"}
        if operation.path.startswith("/agency/")
        else auth("schemathesis")
        if operation.path.startswith("/app/")
        else {}
    )

    @given(case=operation.as_strategy(generation_mode=generation))
    def run(case: Any) -> None:
        tried("openapi")
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        headers |= credentials
        kwargs: dict[str, Any] = {"headers": headers}
        if not isinstance(case.body, NotSet):
            kwargs["headers"]["Content-Type"] = "application/json"
            body = case.body
            kwargs["body"] = body if isinstance(body, bytes) else json.dumps(body)
        path = case.formatted_path
        answer = shared_bus.request(case.method, path, **kwargs)
        assert answer.status < 500, (case.method, path, answer.status, answer.body[:300])
        if answer.status >= 400:
            assert answer.json()["errors"][0]["message"], answer.text
        if mode == "positive" or answer.status >= 400:
            response = as_response(case, answer, "http://127.0.0.1:8000" + path)
            case.validate_response(response, checks=conformance())

    run()


def test_the_citizen_openapi_document_is_current_and_valid() -> None:
    from openapi_spec_validator import validate

    from schemas.openapi_citizen import render

    assert (ROOT / "schemas" / "openapi-citizen.json").read_text() == render(), "run make schemas"
    validate(CITIZEN)
    documented = {
        (method.upper(), path) for path, item in CITIZEN["paths"].items() for method in item
    }
    from functions import topology

    json_routes = {
        (r.method, r.path)
        for fn in topology.FUNCTIONS
        for r in fn.routes
        if r.path.startswith(("/app/", "/agency/", "/eservice/"))
    }
    assert documented == json_routes  # a new JSON route needs its entry in the document


# -- every schema model ------------------------------------------------------------------------
def models() -> dict[str, Any]:
    from schemas.export import MODELS

    return dict(MODELS)


@pytest.mark.parametrize("name", sorted(models()))
def test_every_schema_model_refuses_garbage_cleanly(name: str) -> None:
    from jsonschema import Draft202012Validator
    from pydantic import ValidationError

    model = models()[name]
    exported = json.loads((ROOT / "schemas" / "json" / f"{name}.schema.json").read_text())
    validator = Draft202012Validator(exported)
    fields = tuple(model.model_fields)

    @given(data=st.one_of(json_objects(fields), json_value))
    def run(data: Any) -> None:
        tried("schemas")
        try:
            parsed = model.model_validate(data)
        except ValidationError as exc:
            assert exc.errors(), name  # says what is wrong
            return
        dumped = parsed.model_dump(mode="json", by_alias=True)
        assert model.model_validate(dumped) == parsed
        if name != "request":  # the request view's schema is the serialization one
            validator.validate(json.loads(json.dumps(data)))

    run()

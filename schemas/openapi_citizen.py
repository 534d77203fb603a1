"""The OpenAPI 3.1 document of the JSON routes for citizens and agencies:
``schemas/openapi-citizen.json`` (the app API, web e-service forms, the agency API).

Built from the same pydantic models the handlers validate with, so it cannot drift; ``make
schemas`` rewrites it, a test fails when it is stale, and schemathesis tests the routes
against it (``tests/security/test_input_openapi.py``). ``python -m schemas.openapi_citizen``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas.agency import StatusUpdateBody, SubscriptionBody
from schemas.bodies import (
    ContactBody,
    ContactCode,
    ErrorBody,
    Preferences,
    ReopenBody,
    RequestView,
    VerdictBody,
)
from schemas.request import AppRequestBody

OUTPUT = Path(__file__).with_name("openapi-citizen.json")
REF = "#/components/schemas/{model}"
_INPUT: tuple[type[BaseModel], ...] = (
    AppRequestBody,
    Preferences,
    ContactBody,
    ContactCode,
    ReopenBody,
    VerdictBody,
    SubscriptionBody,
    StatusUpdateBody,
)
_OUTPUT: tuple[type[BaseModel], ...] = (RequestView, ErrorBody)

_ERRORS = {
    400: "A field is missing or wrong; each error names it.",
    401: "No credentials, or credentials that are not accepted.",
    403: "The sign-in's level of assurance (acr) is below what the service needs (field "
    "assurance).",
    404: "No such request for this caller (someone else's is a 404 too).",
    409: "The lifecycle refuses this transition, or the request changed meanwhile; for "
    "preferences: the phone or e-mail is not a linked contact yet.",
    413: "The body is larger than the limit.",
    415: "The body is not JSON.",
    429: "Too many attempts (codes asked for, or wrong codes); see Retry-After.",
}


def _ref(model: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=model)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _responses(ok: dict[int, tuple[str, dict[str, Any]]], *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {
        str(status): {"description": text, "content": _json(schema)}
        for status, (text, schema) in ok.items()
    }
    for status in errors:
        answers[str(status)] = {"description": _ERRORS[status], "content": _json(_ref("ErrorBody"))}
    return answers


def _body(model: str) -> dict[str, Any]:
    return {"required": True, "content": _json(_ref(model))}


REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The request's reference (8 to 12 digits, Luhn-checked).",
    "schema": {"type": "string"},
}
SERVICE_CODE = {
    "name": "service_code",
    "in": "path",
    "required": True,
    "description": "A service of the catalog.",
    "schema": {"type": "string"},
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key again answers with the first request instead of filing twice.",
    "schema": {"type": "string", "maxLength": 128},
}
CITIZEN: list[dict[str, list[str]]] = [{"citizenJwt": []}]
AGENCY: list[dict[str, list[str]]] = [{"agencyKey": []}]
ANY_OBJECT: dict[str, Any] = {"type": "object"}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    pairs: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (m, "validation") for m in _INPUT
    ] + [(m, "serialization") for m in _OUTPUT]
    _, defs = models_json_schema(pairs, ref_template=REF)
    request = _ref("RequestView")
    filed = {201: ("Filed.", request), 200: ("Filed before (same idempotency key).", request)}
    form = {
        "type": "object",
        "description": "The service's attributes by code, plus phone, email, notify_by, "
        "consent, language, description and submission_id (flat or under attributes/contact).",
        "additionalProperties": True,
    }
    paths: dict[str, Any] = {
        "/app/v1/requests": {
            "post": {
                "summary": "File a request from the app",
                "security": CITIZEN,
                "parameters": [IDEMPOTENCY],
                "requestBody": _body("AppRequestBody"),
                "responses": _responses(filed, 400, 401, 403, 413, 415),
            },
            "get": {
                "summary": "The caller's own requests, newest first",
                "security": CITIZEN,
                "responses": _responses(
                    {
                        200: (
                            "The caller's requests.",
                            {
                                "type": "object",
                                "properties": {"requests": {"type": "array", "items": request}},
                                "required": ["requests"],
                            },
                        )
                    },
                    401,
                ),
            },
        },
        "/app/v1/requests/{reference}": {
            "get": {
                "summary": "One of the caller's own requests with its status history",
                "security": CITIZEN,
                "parameters": [REFERENCE],
                "responses": _responses({200: ("The request.", request)}, 401, 404),
            }
        },
        "/app/v1/requests/{reference}/reopen": {
            "post": {
                "summary": "Reopen the caller's own resolved request (within the service's "
                "reopen window; at most three times, once a day)",
                "security": CITIZEN,
                "parameters": [REFERENCE],
                "requestBody": _body("ReopenBody"),
                "responses": _responses(
                    {200: ("Reopened: the request with status reopened.", request)},
                    400,
                    401,
                    404,
                    409,
                    415,
                ),
            }
        },
        "/app/v1/requests/{reference}/verdict": {
            "post": {
                "summary": "Extension: answer the satisfaction question about the caller's own "
                "request (verdict_asked); once",
                "security": CITIZEN,
                "parameters": [REFERENCE],
                "requestBody": _body("VerdictBody"),
                "responses": _responses(
                    {200: ("Kept; reopen_offered when the score is 1 or 2.", ANY_OBJECT)},
                    400,
                    401,
                    404,
                    409,
                    415,
                ),
            }
        },
        "/app/v1/me/preferences": {
            "put": {
                "summary": "Notification channel, language and consent",
                "security": CITIZEN,
                "requestBody": _body("Preferences"),
                "responses": _responses(
                    {200: ("The saved preferences.", ANY_OBJECT)}, 400, 401, 409, 413, 415
                ),
            }
        },
        "/app/v1/me": {
            "get": {
                "summary": "The caller's linked contacts (masked) and preferences",
                "security": CITIZEN,
                "responses": _responses({200: ("Contacts and preferences.", ANY_OBJECT)}, 401),
            }
        },
        "/app/v1/me/contacts": {
            "post": {
                "summary": "Send a 6-digit code (valid 10 minutes) to a phone or e-mail to link",
                "security": CITIZEN,
                "requestBody": _body("ContactBody"),
                "responses": _responses(
                    {202: ("The code is on its way.", ANY_OBJECT)}, 400, 401, 415, 429
                ),
            }
        },
        "/app/v1/me/contacts/verify": {
            "post": {
                "summary": "Link the contact with its code (the fifth wrong code voids it: 429)",
                "security": CITIZEN,
                "requestBody": _body("ContactCode"),
                "responses": _responses(
                    {200: ("Linked; the contacts and preferences.", ANY_OBJECT)},
                    400,
                    401,
                    415,
                    429,
                ),
            }
        },
        "/app/v1/me/contacts/{kind}": {
            "delete": {
                "summary": "Unlink the caller's phone or e-mail",
                "security": CITIZEN,
                "parameters": [
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["phone", "email"]},
                    }
                ],
                "responses": _responses(
                    {200: ("Unlinked; the contacts and preferences.", ANY_OBJECT)}, 401, 404
                ),
            }
        },
        "/eservice/v1/forms/{service_code}": {
            "post": {
                "summary": "A web e-service form (JSON; browsers may post form-encoded)",
                "parameters": [SERVICE_CODE, IDEMPOTENCY],
                "requestBody": {"required": True, "content": _json(form)},
                "responses": _responses(filed, 400, 413, 415),
            }
        },
        "/agency/v1/subscriptions": {
            "put": {
                "summary": "Subscribe (or re-subscribe) the agency's webhook",
                "security": AGENCY,
                "requestBody": _body("SubscriptionBody"),
                "responses": _responses(
                    {
                        200: (
                            "The subscription and its new signing secret.",
                            {
                                "type": "object",
                                "properties": {
                                    "secret": {"type": "string", "pattern": "^whsec_"},
                                    "url": {"type": "string"},
                                    "types": {"type": "array", "items": {"type": "string"}},
                                },
                                "required": ["secret", "url", "types"],
                            },
                        )
                    },
                    400,
                    401,
                    413,
                    415,
                ),
            }
        },
        "/agency/v1/requests/{reference}": {
            "get": {
                "summary": "The agency's own request with contact details (audited)",
                "security": AGENCY,
                "parameters": [REFERENCE],
                "responses": _responses({200: ("The request.", ANY_OBJECT)}, 401, 404),
            }
        },
        "/agency/v1/requests/{reference}/status": {
            "post": {
                "summary": "Move the request along its lifecycle",
                "security": AGENCY,
                "parameters": [REFERENCE],
                "requestBody": _body("StatusUpdateBody"),
                "responses": _responses(
                    {200: ("The new state.", ANY_OBJECT)}, 400, 401, 404, 409, 413, 415
                ),
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "citizenbus: citizen and agency JSON API",
            "version": "1.0.0",
            "description": "The app API, web e-service forms and the agency API. Errors are "
            '{"errors": [{"field", "message"}]}.',
        },
        "servers": [{"url": "http://127.0.0.1:8000", "description": "citizenbus serve"}],
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {
                "citizenJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "agencyKey": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT.name}")


if __name__ == "__main__":
    main()

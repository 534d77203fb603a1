"""The OpenAPI 3.1 document of the open-data routes: ``schemas/openapi-open311.json``.

Built from the wire models in :mod:`schemas.open311`, so the document cannot drift from what
the handlers send; ``make schemas`` rewrites it and a test fails when it is stale.
Run ``python -m schemas.openapi`` to regenerate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas import open311 as o311

OUTPUT = Path(__file__).with_name("openapi-open311.json")
REF = "#/components/schemas/{model}"

_MODELS: tuple[type[BaseModel], ...] = (
    o311.Discovery,
    o311.Service,
    o311.ServiceDefinition,
    o311.ServiceRequest,
    o311.PostedRequest,
    o311.Token,
    o311.Error,
    o311.Stats,
)


def _ref(model: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=model)}


def _content(model: str, many: bool, root: str, item: str | None) -> dict[str, Any]:
    """JSON and XML content of one Open311 answer (a list of ``model`` or one ``model``)."""
    if many:
        json_schema: dict[str, Any] = {"type": "array", "items": _ref(model)}
        xml_schema: dict[str, Any] = {
            "type": "array",
            "items": _ref(model) | {"xml": {"name": item}},
            "xml": {"name": root, "wrapped": True},
        }
    else:
        json_schema = _ref(model)
        xml_schema = _ref(model) | {"xml": {"name": root}}
    return {"application/json": {"schema": json_schema}, "text/xml": {"schema": xml_schema}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "A parameter is missing or wrong; the description names it.",
        401: "No api_key.",
        403: "The api_key is not accepted.",
        404: "No such resource, service, request, token or jurisdiction, or an unknown format.",
        405: "The resource does not accept this method.",
        415: "The body is not form-encoded.",
    }
    return {
        str(s): {
            "description": text[s],
            "content": _content("Error", True, "errors", "error"),
        }
        for s in statuses
    }


def _param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": {"type": "string"} | schema,
    }


FORMAT = _param("format", "path", "The answer's format.", enum=["json", "xml"])
JURISDICTION = _param("jurisdiction_id", "query", "Optional; must be this endpoint's own.")
LOCALE = _param("locale", "query", "sv or en (default: the jurisdiction's language).")

POST_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["api_key", "service_code"],
    "properties": {
        "api_key": {"type": "string", "description": "One of CITIZENBUS_OPEN311_KEYS."},
        "jurisdiction_id": {"type": "string"},
        "service_code": {"type": "string"},
        "address_string": {
            "type": "string",
            "description": "Fills the service's address attribute when it has one.",
        },
        "lat": {"type": "string", "description": "Checked (WGS84), not stored."},
        "long": {"type": "string", "description": "Checked (WGS84), not stored."},
        "email": {"type": "string", "description": "Stored privately, never published."},
        "phone": {"type": "string", "description": "Stored privately, never published."},
        "first_name": {"type": "string", "description": "Not stored (not needed)."},
        "last_name": {"type": "string", "description": "Not stored (not needed)."},
        "description": {"type": "string"},
        "locale": {"type": "string"},
    },
    "patternProperties": {
        r"^attribute\[[a-z][a-z0-9_]*\](\[\])?$": {
            "type": "string",
            "description": "attribute[code] (or attribute[code][] for lists) from services/{code}.",
        }
    },
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    _, defs = models_json_schema([(m, "serialization") for m in _MODELS], ref_template=REF)
    schemas: dict[str, Any] = defs["$defs"]
    requests_query = [
        _param("service_request_id", "query", "Comma-separated ids; overrides every other filter."),
        _param("service_code", "query", "Comma-separated service codes."),
        _param("start_date", "query", "W3C datetime; default: 90 days before end_date."),
        _param("end_date", "query", "W3C datetime; default: now. At most 90 days after start."),
        _param("status", "query", "open, closed or both (comma-separated)."),
        _param("page", "query", "1-based page number.", type="integer", minimum=1),
        _param("page_size", "query", "Requests per page.", type="integer", minimum=1, maximum=1000),
        JURISDICTION,
        LOCALE,
    ]
    ok = "description"
    paths: dict[str, Any] = {
        "/open311/v2/discovery.{format}": {
            "get": {
                "summary": "Where the endpoint is and which formats it speaks",
                "parameters": [FORMAT],
                "responses": {
                    "200": {
                        ok: "Discovery",
                        "content": _content("Discovery", False, "discovery", None),
                    },
                    **_errors(404),
                },
            }
        },
        "/open311/v2/services.{format}": {
            "get": {
                "summary": "The services of the catalog",
                "parameters": [FORMAT, JURISDICTION, LOCALE],
                "responses": {
                    "200": {
                        ok: "Services",
                        "content": _content("Service", True, "services", "service"),
                    },
                    **_errors(404),
                },
            }
        },
        "/open311/v2/services/{service_code}.{format}": {
            "get": {
                "summary": "A service's attributes (what POST requests must carry)",
                "parameters": [
                    _param("service_code", "path", "A service code."),
                    FORMAT,
                    JURISDICTION,
                    LOCALE,
                ],
                "responses": {
                    "200": {
                        ok: "The definition",
                        "content": _content("ServiceDefinition", False, "service_definition", None),
                    },
                    **_errors(404),
                },
            }
        },
        "/open311/v2/requests.{format}": {
            "get": {
                "summary": "Requests, newest first (no personal data; streets only)",
                "parameters": [FORMAT, *requests_query],
                "responses": {
                    "200": {
                        ok: "Requests",
                        "content": _content("ServiceRequest", True, "service_requests", "request"),
                    },
                    **_errors(400, 404),
                },
            },
            "post": {
                "summary": "File a request (channel open311)",
                "parameters": [
                    FORMAT,
                    _param("Idempotency-Key", "header", "A retry with the same key files once."),
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": POST_FORM}},
                },
                "responses": {
                    "201": {
                        ok: "Filed",
                        "content": _content("PostedRequest", True, "service_requests", "request"),
                    },
                    "200": {
                        ok: "Filed before (same Idempotency-Key)",
                        "content": _content("PostedRequest", True, "service_requests", "request"),
                    },
                    **_errors(400, 401, 403, 404, 405, 415),
                },
            },
        },
        "/open311/v2/requests/{service_request_id}.{format}": {
            "get": {
                "summary": "One request (a list of one)",
                "parameters": [
                    _param("service_request_id", "path", "The citizenbus reference."),
                    FORMAT,
                    JURISDICTION,
                    LOCALE,
                ],
                "responses": {
                    "200": {
                        ok: "The request",
                        "content": _content("ServiceRequest", True, "service_requests", "request"),
                    },
                    **_errors(404),
                },
            }
        },
        "/open311/v2/tokens/{token}.{format}": {
            "get": {
                "summary": "The request a POST token stands for",
                "parameters": [_param("token", "path", "The token from POST requests."), FORMAT],
                "responses": {
                    "200": {
                        ok: "The request id",
                        "content": _content("Token", True, "service_requests", "request"),
                    },
                    **_errors(404),
                },
            }
        },
        "/open-data/v1/stats.json": {
            "get": {
                "summary": "Daily aggregates and journey KPIs (the last export), small cells "
                "withheld",
                "responses": {
                    "200": {
                        ok: "Aggregates",
                        "content": {"application/json": {"schema": _ref("Stats")}},
                    }
                },
            }
        },
        "/open-data/v1/stats.csv": {
            "get": {
                "summary": "The same rows as CSV (header first, null as an empty cell)",
                "responses": {
                    "200": {
                        ok: "Aggregates",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/open-data/v1/journey.csv": {
            "get": {
                "summary": (
                    "Journey KPIs per month, service and channel as CSV (the same rows as "
                    "stats.json's journey; docs/open-data.md), small rows withheld"
                ),
                "responses": {
                    "200": {
                        ok: "Journey KPIs",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/open-data/v1/bulk/{name}": {
            "get": {
                "summary": (
                    "A bulk file of the public request records (docs/open-data.md): "
                    "YYYY-MM-DD.{csv,jsonl} (a day), YYYY.{csv,jsonl} (a year), "
                    "dictionary.{json,md}, manifest.json (every file's size, rows, dates)"
                ),
                "parameters": [
                    _param(
                        "name",
                        "path",
                        "The file's name, as listed in manifest.json.",
                        pattern=r"^([0-9]{4}(-[0-9]{2}-[0-9]{2})?\.(csv|jsonl)|"
                        r"dictionary\.(json|md)|manifest\.json|summary\.json)$",
                    )
                ],
                "responses": {
                    "200": {
                        ok: "The file (the local bus)",
                        "content": {
                            "text/csv": {"schema": {"type": "string"}},
                            "application/x-ndjson": {"schema": {"type": "string"}},
                            "application/json": {"schema": {"type": "object"}},
                            "text/markdown": {"schema": {"type": "string"}},
                        },
                    },
                    "302": {
                        ok: "In AWS: Location is a presigned S3 URL, valid for five minutes",
                    },
                    "404": {
                        ok: "No such file",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                },
            }
        },
        "/open-data/": {
            "get": {
                "summary": (
                    "The last 12 months by month, the bulk files, and the daily aggregates "
                    "(HTML with inline SVG and tables)"
                ),
                "responses": {
                    "200": {
                        ok: "The page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "citizenbus open data: Open311 GeoReport v2 and aggregates",
            "version": "1.0.0",
            "description": (
                "Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) and anonymized "
                "aggregates. Public answers carry no personal data and no location finer than "
                "the street. Errors are Open311 error arrays."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8000", "description": "citizenbus serve"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT.name}")


if __name__ == "__main__":
    main()

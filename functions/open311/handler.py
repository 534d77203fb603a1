"""Open311 GeoReport v2 at ``/open311/v2/``: discovery, services, requests and tokens.

Every resource answers as ``.json`` or ``.xml``; errors are Open311 error arrays
(``[{"code", "description"}]``) with the matching HTTP status. ``POST requests`` files through
the same intake as every other channel (channel ``open311``) and needs an ``api_key`` from
``CITIZENBUS_OPEN311_KEYS``. What GET returns carries no personal data (see ``privacy``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from functions.domain.citizens.identity import pseudonym
from functions.domain.open_data import open311
from functions.domain.open_data.open311 import Open311Error
from functions.domain.requests.intake import InvalidRequest, file_request
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore
from functions.platform.catalog import get_catalog
from functions.platform.errors import ApiError
from functions.platform.http import FORM, content_type, form_body
from functions.platform.observability import logger, metrics
from functions.platform.settings import get_settings
from schemas import open311 as o311
from schemas.catalog import CATALOG_PATH, Catalog
from schemas.request import NewRequest

app = APIGatewayHttpResolver()

PUBLIC_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=60"}
_IGNORED_POST_FIELDS = {
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "description",
    "device_id",
    "account_id",
    "media_url",
    "locale",
}


def _format_of_path() -> o311.Format:
    return "xml" if app.current_event.raw_path.lower().endswith(".xml") else "json"


def answer(
    fmt: str,
    data: Any,
    root: str,
    item: str | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    """``data`` (models or plain values) as Open311 JSON or XML."""
    plain = _plain(data)
    body = (
        open311.to_xml(root, item, plain) if fmt == "xml" else json.dumps(plain, ensure_ascii=False)
    )
    return Response(
        status_code=status,
        content_type=open311.CONTENT_TYPES[fmt],
        body=body,
        headers=headers if headers is not None else PUBLIC_HEADERS,
    )


def _plain(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list):
        return [_plain(d) for d in data]
    return data


def error_answer(exc: Open311Error) -> Response[str]:
    """An Open311 error array, in the format the path asked for."""
    logger.info("open311 request refused", extra={"status": exc.status})
    return answer(_format_of_path(), exc.body(), "errors", "error", exc.status, {})


@app.exception_handler(Open311Error)
def _open311_error(exc: Open311Error) -> Response[str]:
    return error_answer(exc)


@app.exception_handler(ApiError)  # body size/encoding checks of the shared HTTP helpers
def _api_error(exc: ApiError) -> Response[str]:
    text = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
    return error_answer(Open311Error(exc.status, text))


@app.not_found
def _not_found(exc: NotFoundError) -> Response[str]:
    return error_answer(Open311Error(404, "no such Open311 resource"))


def _query(name: str) -> str | None:
    params = app.current_event.query_string_parameters or {}
    value = params.get(name)
    return value if value is None else str(value)


def _catalog() -> Catalog:
    catalog = get_catalog()
    jurisdiction = _query("jurisdiction_id")
    if jurisdiction and jurisdiction != catalog.jurisdiction.id:
        raise Open311Error(404, f"jurisdiction_id: this endpoint serves {catalog.jurisdiction.id}")
    return catalog


def _lang(catalog: Catalog, fields: dict[str, str] | None = None) -> str:
    locale = (fields or {}).get("locale") or _query("locale")
    return open311.language(locale, catalog)


# -- GET -------------------------------------------------------------------------------------
@app.get("/open311/v2/<resource>")
def get_resource(resource: str) -> Response[str]:
    name, fmt = open311.split_format(resource)
    catalog = _catalog()
    lang = _lang(catalog)
    if name == "discovery":
        return answer(fmt, open311.discovery(_base_url(), _changeset()), "discovery", None)
    if name == "services":
        return answer(fmt, open311.services(catalog, lang), "services", "service")
    if name == "requests":
        return answer(fmt, _search(catalog, lang), "service_requests", "request")
    raise Open311Error(404, f"{name}: no such Open311 resource")


@app.get("/open311/v2/services/<service>")
def get_service(service: str) -> Response[str]:
    code, fmt = open311.split_format(service)
    catalog = _catalog()
    found = catalog.service(code)
    if found is None:
        raise Open311Error(404, f"service_code: {code} is not a service here")
    definition = open311.service_definition(found, _lang(catalog))
    return answer(fmt, definition, "service_definition", None)


@app.get("/open311/v2/requests/<request>")
def get_request(request: str) -> Response[str]:
    reference, fmt = open311.split_format(request)
    catalog = _catalog()
    found = _public_by_ids([reference], catalog, _lang(catalog))
    if not found:
        raise Open311Error(404, f"service_request_id: {reference} not found")
    return answer(fmt, found, "service_requests", "request")


@app.get("/open311/v2/tokens/<token>")
def get_token(token: str) -> Response[str]:
    value, fmt = open311.split_format(token)
    reference = open311.reference_of(value)
    if reference is None or RequestStore().get(reference) is None:
        raise Open311Error(404, f"token: {value} not found")
    data = [o311.Token(service_request_id=reference, token=value)]
    return answer(fmt, data, "service_requests", "request")


def _public_by_ids(ids: list[str], catalog: Catalog, lang: str) -> list[Any]:
    store = RequestStore()
    found = []
    for reference in dict.fromkeys(ids):
        record = store.get(reference) if is_valid(reference) else None
        if record is not None and catalog.service(record["service_code"]):
            found.append(open311.public_request(record, catalog, lang))
    return found


def _search(catalog: Catalog, lang: str) -> list[Any]:
    ids = open311.csv_values(_query("service_request_id"))
    if ids:  # the spec: service_request_id overrides every other filter
        if len(ids) > open311.MAX_IDS:
            raise Open311Error(400, f"service_request_id: at most {open311.MAX_IDS} ids at once")
        return _public_by_ids(ids, catalog, lang)
    codes = open311.csv_values(_query("service_code"))
    unknown = [c for c in codes if catalog.service(c) is None]
    if unknown:
        raise Open311Error(400, f"service_code: {', '.join(unknown)} is not a service here")
    start, end = open311.window(_query("start_date"), _query("end_date"), datetime.now(UTC))
    wanted = open311.statuses(_query("status"))
    page = open311.positive_int("page", _query("page"), 1, 1_000_000)
    size = open311.positive_int(
        "page_size", _query("page_size"), open311.MAX_PAGE_SIZE, open311.MAX_PAGE_SIZE
    )
    records: Iterator[Request] = (
        r
        for r in RequestStore().submitted_between(start, end, codes, wanted)
        if catalog.service(r["service_code"])
    )
    chosen = islice(records, (page - 1) * size, page * size)
    return [open311.public_request(r, catalog, lang) for r in chosen]


def _base_url() -> str:
    headers = app.current_event.headers
    proto = headers.get("x-forwarded-proto", "https")
    return f"{proto}://{headers.get('host', 'localhost')}"


def _changeset() -> str:
    path = Path(get_settings().catalog_path or CATALOG_PATH)
    changed = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
    return changed.isoformat().replace("+00:00", "Z")


# -- POST requests ---------------------------------------------------------------------------
@app.post("/open311/v2/<resource>")
def post_request(resource: str) -> Response[str]:
    name, fmt = open311.split_format(resource)
    if name != "requests":
        raise Open311Error(405 if name in ("services", "discovery") else 404, f"POST {name}")
    event = app.current_event
    if content_type(event) != FORM:
        raise Open311Error(415, f"send the request as {FORM}")
    fields, attributes = _post_fields(form_body(event))
    key = fields.get("api_key")
    if not key:
        raise Open311Error(401, "api_key: required to file a request")
    if key not in get_settings().open311_api_keys:
        raise Open311Error(403, "api_key: not a valid api_key")
    catalog = _catalog_from(fields)
    lang = _lang(catalog, fields)
    code = fields.get("service_code", "")
    if not code:
        raise Open311Error(400, "service_code: required")
    service = catalog.service(code)
    if service is None:
        raise Open311Error(400, f"service_code: {code} is not a service here")
    _check_location(fields)
    location = next((a.code for a in service.attributes if a.location), None)
    if location and fields.get("address_string") and location not in attributes:
        attributes[location] = fields["address_string"]
    email, phone = fields.get("email") or None, fields.get("phone") or None
    try:
        new = NewRequest.model_validate(
            {
                "service_code": code,
                "attributes": attributes,
                "description": fields.get("description") or None,
                "contact": {"phone": phone, "email": email} if email or phone else None,
                "language": lang,
                "consent": bool(email or phone),
            }
        )
    except ValueError as exc:  # pydantic's ValidationError
        raise Open311Error(400, _validation_text(exc)) from exc
    # Without contact details the citizen is the client app (its api_key, pseudonymised), so a
    # retried POST with the same Idempotency-Key still files once.
    citizen = None if email or phone else pseudonym("open311", key)
    try:
        filed = file_request(
            new,
            channel="open311",
            citizen=citizen,
            message_id=event.headers.get("idempotency-key"),
            catalog=catalog,
        )
    except InvalidRequest as exc:
        text = "; ".join(
            f"{e['field'].removeprefix('attributes.')}: {e['message']}" for e in exc.errors
        )
        raise Open311Error(400, text) from exc
    reference = filed.record["reference"]
    if filed.created:
        metrics.add_metric(name="RequestsFiled", unit="Count", value=1)
    logger.info("open311 request filed", extra={"reference": reference, "new": filed.created})
    posted = o311.PostedRequest(service_request_id=reference, token=open311.token_for(reference))
    return answer(fmt, [posted], "service_requests", "request", 201 if filed.created else 200, {})


def _catalog_from(fields: dict[str, str]) -> Catalog:
    catalog = get_catalog()
    jurisdiction = fields.get("jurisdiction_id") or _query("jurisdiction_id")
    if jurisdiction and jurisdiction != catalog.jurisdiction.id:
        raise Open311Error(404, f"jurisdiction_id: this endpoint serves {catalog.jurisdiction.id}")
    return catalog


def _post_fields(form: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str]]:
    """Plain fields, and ``attribute[code]`` / ``attribute[code][]`` as ``{code: value}``."""
    fields: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for name, values in form.items():
        if name.startswith("attribute[") and "]" in name:
            code = name[len("attribute[") : name.index("]")]
            rest = name[name.index("]") + 1 :]
            if not code or rest not in ("", "[]"):
                raise Open311Error(400, f"{name}: use attribute[code] or attribute[code][]")
            attributes[code] = ",".join(v for v in values if v) if rest else values[-1]
        elif name in _IGNORED_POST_FIELDS:
            fields[name] = values[-1].strip()
    return fields, attributes


def _check_location(fields: dict[str, str]) -> None:
    """``lat``/``long`` are checked but not kept: open data is no finer than the street."""
    lat, long = fields.get("lat"), fields.get("long")
    if not lat and not long:
        return
    try:
        ok = lat is not None and long is not None and -90 <= float(lat) <= 90
        ok = ok and long is not None and -180 <= float(long) <= 180
    except ValueError:
        ok = False
    if not ok:
        raise Open311Error(400, "lat, long: give both, as decimal degrees (WGS84)")


def _validation_text(exc: Exception) -> str:
    from functions.platform.errors import pydantic_errors

    errors = pydantic_errors(exc)
    return "; ".join(f"{e['field'].removeprefix('attributes.')}: {e['message']}" for e in errors)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

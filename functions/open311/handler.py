"""Open311 GeoReport v2 at ``/open311/v2/``: discovery, services, requests and tokens.

Every resource answers as ``.json`` or ``.xml``; errors are Open311 error arrays
(``[{"code", "description"}]``) with the matching HTTP status. ``POST requests`` files through
the same intake as every other channel (channel ``open311``) and needs an ``api_key`` from
``CITIZENBUS_OPEN311_KEYS``. What GET returns carries no personal data (see ``privacy``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.open_data import open311
from functions.domain.open_data.open311 import Open311Error
from functions.domain.requests.store import RequestStore
from functions.open311.service import (
    answer,
    changeset,
    checked_catalog,
    file_post,
    filed_status,
    install_error_answers,
    post_fields,
    posted,
    public_by_ids,
    search,
)
from functions.platform import secrets
from functions.platform.http import FORM, content_type, form_body
from functions.platform.observability import logger, metrics
from schemas import open311 as o311
from schemas.catalog import Catalog

app = APIGatewayHttpResolver()


install_error_answers(app)


def _query(name: str) -> str | None:
    params = app.current_event.query_string_parameters or {}
    value = params.get(name)
    return value if value is None else str(value)


def _catalog(fields: dict[str, str] | None = None) -> Catalog:
    return checked_catalog((fields or {}).get("jurisdiction_id") or _query("jurisdiction_id"))


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
        return answer(fmt, open311.discovery(_base_url(), changeset()), "discovery", None)
    if name == "services":
        return answer(fmt, open311.services(catalog, lang), "services", "service")
    if name == "requests":
        params = dict(app.current_event.query_string_parameters or {})
        found = search(catalog, lang, params)
        return answer(fmt, found, "service_requests", "request")
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
    found = public_by_ids([reference], catalog, _lang(catalog))
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


def _base_url() -> str:
    headers = app.current_event.headers
    proto = headers.get("x-forwarded-proto", "https")
    return f"{proto}://{headers.get('host', 'localhost')}"


# -- POST requests ---------------------------------------------------------------------------
@app.post("/open311/v2/<resource>")
def post_request(resource: str) -> Response[str]:
    name, fmt = open311.split_format(resource)
    if name != "requests":
        raise Open311Error(405 if name in ("services", "discovery") else 404, f"POST {name}")
    event = app.current_event
    if content_type(event) != FORM:
        raise Open311Error(415, f"send the request as {FORM}")
    fields, attributes = post_fields(form_body(event))
    key = fields.get("api_key")
    if not key:
        raise Open311Error(401, "api_key: required to file a request")
    if key not in secrets.open311_api_keys():
        raise Open311Error(403, "api_key: not a valid api_key")
    catalog = _catalog(fields)
    lang = _lang(catalog, fields)
    filed = file_post(fields, attributes, key, catalog, lang, event.headers.get("idempotency-key"))
    return answer(fmt, [posted(filed)], "service_requests", "request", filed_status(filed), {})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""Open311 GeoReport v2 for the handler: searching, filing, and answering in JSON or XML."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from pydantic import BaseModel

from functions.domain.citizens.identity import pseudonym
from functions.domain.open_data import open311
from functions.domain.open_data.open311 import Open311Error
from functions.domain.requests.intake import Filed, InvalidRequest, file_request, message
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore
from functions.platform import process
from functions.platform.catalog import get_catalog
from functions.platform.errors import (
    ApiError,
    pydantic_errors,
)
from functions.platform.http import install_throttle_answer
from functions.platform.observability import logger, metrics
from functions.platform.settings import get_settings
from schemas import open311 as o311
from schemas.catalog import CATALOG_PATH, Catalog
from schemas.request import NewRequest

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


def public_by_ids(ids: list[str], catalog: Catalog, lang: str) -> list[Any]:
    store = RequestStore()
    found = []
    for reference in dict.fromkeys(ids):
        record = store.get(reference) if is_valid(reference) else None
        if record is not None and catalog.service(record["service_code"]):
            found.append(open311.public_request(record, catalog, lang))
    return found


def search(catalog: Catalog, lang: str, params: dict[str, str]) -> list[Any]:
    """``GET requests``: by ids, or a window of requests filtered by service and status."""
    ids = open311.csv_values(params.get("service_request_id"))
    if ids:  # the spec: service_request_id overrides every other filter
        if len(ids) > open311.MAX_IDS:
            raise Open311Error(400, f"service_request_id: at most {open311.MAX_IDS} ids at once")
        return public_by_ids(ids, catalog, lang)
    codes = open311.csv_values(params.get("service_code"))
    unknown = [c for c in codes if catalog.service(c) is None]
    if unknown:
        raise Open311Error(400, f"service_code: {', '.join(unknown)} is not a service here")
    start, end = open311.window(params.get("start_date"), params.get("end_date"), datetime.now(UTC))
    wanted = open311.statuses(params.get("status"))
    page, size = open311.paging(params.get("page"), params.get("page_size"))
    stamps: Iterator[Request] = (
        r
        for r in RequestStore().submitted_between(start, end, codes, wanted, STAMP, page * size)
        if catalog.service(r["service_code"])
    )
    return public_copies(list(islice(stamps, (page - 1) * size, page * size)), catalog, lang)


# What the window query returns of each request (the index filters by status itself): its
# service (a service gone from the catalog is not listed), and what tells whether a document
# made from it earlier is still the request as stored (every change of what Open311 shows
# bumps ``version``; an erasure sets ``erased_at``; ``supporters`` is counted apart from it).
CHANGES = ("version", "erased_at", "supporters")
STAMP = ("reference", "service_code", *CHANGES)
COPIES_KEPT = 12_000  # a little more than the deepest page a search may read (MAX_RECORDS)


class PublicCopies:
    """Open311 documents of stored requests, kept by the process that made them, each under
    the request's stamp (reference, version, erasure, language): a request changed since is
    read and made again, so a kept copy is never older than the request it shows."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: OrderedDict[tuple[str, ...], dict[str, Any]] = OrderedDict()
        self.catalog: Catalog | None = None

    def of(self, catalog: Catalog) -> PublicCopies:
        if catalog is not self.catalog:  # names and agencies come from the catalog
            self.kept.clear()
            self.catalog = catalog
        return self

    def get(self, key: tuple[str, ...]) -> dict[str, Any] | None:
        found = self.kept.get(key)
        if found is not None:
            self.kept.move_to_end(key)
        return found

    def put(self, key: tuple[str, ...], document: dict[str, Any]) -> None:
        self.kept[key] = document
        self.kept.move_to_end(key)
        while len(self.kept) > self.limit:
            self.kept.popitem(last=False)


@process.once
def _copies() -> PublicCopies:
    return PublicCopies(COPIES_KEPT)


def _stamp(record: Request | dict[str, Any], lang: str) -> tuple[str, ...]:
    changes = tuple(str(record.get(name) or "") for name in CHANGES)
    return (record["reference"], *changes, lang)


def public_copies(stamps: list[Request], catalog: Catalog, lang: str) -> list[Any]:
    """The Open311 documents of the requests ``stamps`` name, in their order: kept copies
    where the stamp still matches, the others read in batches and made now."""
    copies = _copies().of(catalog)
    found: dict[str, dict[str, Any] | None] = {}
    for stamp in stamps:
        found[stamp["reference"]] = copies.get(_stamp(stamp, lang))
    missing = [reference for reference, document in found.items() if document is None]
    if missing:
        for reference, record in RequestStore().get_many(missing).items():
            if catalog.service(record["service_code"]) is None:
                continue
            document = open311.public_request(record, catalog, lang).model_dump(mode="json")
            copies.put(_stamp(record, lang), document)
            found[reference] = document
    return [document for document in found.values() if document is not None]


def changeset() -> str:
    path = Path(get_settings().catalog_path or CATALOG_PATH)
    changed = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
    return changed.isoformat().replace("+00:00", "Z")


def file_post(
    fields: dict[str, str],
    attributes: dict[str, str],
    api_key: str,
    catalog: Catalog,
    lang: str,
    idempotency_key: str | None,
) -> Filed:
    """``POST requests``: an Open311 form mapped onto intake; :class:`Open311Error` if wrong."""
    code = fields.get("service_code", "")
    if not code:
        raise Open311Error(400, "service_code: required")
    service = catalog.service(code)
    if service is None:
        raise Open311Error(400, f"service_code: {code} is not a service here")
    check_location(fields)
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
        raise Open311Error(400, validation_text(exc)) from exc
    # Without contact details the citizen is the client app (its api_key, pseudonymised), so a
    # retried POST with the same Idempotency-Key still files once.
    citizen = None if email or phone else pseudonym("open311", api_key)
    try:
        filed = file_request(
            new,
            channel="open311",
            citizen=citizen,
            message_id=idempotency_key,
            catalog=catalog,
        )
    except InvalidRequest as exc:
        text = "; ".join(
            f"{e['field'].removeprefix('attributes.')}: {e['message']}" for e in exc.errors
        )
        raise Open311Error(exc.status, text) from exc
    return filed


def post_fields(form: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str]]:
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


def check_location(fields: dict[str, str]) -> None:
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


def validation_text(exc: Exception) -> str:
    errors = pydantic_errors(exc)
    return "; ".join(f"{e['field'].removeprefix('attributes.')}: {e['message']}" for e in errors)


def checked_catalog(jurisdiction: str | None) -> Catalog:
    """The catalog, if ``jurisdiction_id`` (when given) names this endpoint's jurisdiction."""
    catalog = get_catalog()
    if jurisdiction and jurisdiction != catalog.jurisdiction.id:
        raise Open311Error(404, f"jurisdiction_id: this endpoint serves {catalog.jurisdiction.id}")
    return catalog


def posted(filed: Filed) -> o311.PostedRequest:
    """The answer to a POST: the reference and its token (metrics and a log line on the way)."""
    reference = filed.record["reference"]
    if filed.created:
        metrics.add_metric(name="RequestsFiled", unit="Count", value=1)
    logger.info("open311 request filed", extra={"reference": reference, "new": filed.created})
    notice = None
    if filed.duplicate:  # me too: the open request it repeats; nothing about who filed it
        notice = message("duplicate", filed.language, reference=reference)
    return o311.PostedRequest(
        service_request_id=reference, token=open311.token_for(reference), service_notice=notice
    )


def filed_status(filed: Filed) -> int:
    return 201 if filed.created else 200


def install_error_answers(app: APIGatewayHttpResolver) -> None:
    """Every error as an Open311 error array, in the format the path asked for."""

    def error_answer(exc: Open311Error) -> Response[str]:
        logger.info("open311 request refused", extra={"status": exc.status})
        fmt = "xml" if app.current_event.raw_path.lower().endswith(".xml") else "json"
        return answer(fmt, exc.body(), "errors", "error", exc.status, {})

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

    def busy() -> Response[str]:
        fmt = "xml" if app.current_event.raw_path.lower().endswith(".xml") else "json"
        error = Open311Error(503, "the service is busy; try again in a moment")
        return answer(fmt, error.body(), "errors", "error", 503, {})

    install_throttle_answer(app, busy)

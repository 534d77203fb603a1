"""The citizen web e-service pages: ``GET /`` and the pages under it, in every language.

Swedish (the default) lives at ``/``, every other language pack's pages under ``/<code>``
(``/en``, ``/fi``, ``/ar``, right to left); an unknown code is a 404. The forms post to the
e-service function (``POST /eservice/v1/forms/{service_code}``), which answers a browser
with ``303`` to the receipt page here. The status look-up (its code, its reopen form) is
POSTed so no phone number or e-mail address is in a URL (or a log); so is the button behind
an e-mail's confirmation link (opening ``/confirm/<token>`` alone confirms nothing).
"""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.requests.reference import is_valid
from functions.platform.catalog import get_catalog
from functions.platform.errors import ApiError
from functions.platform.http import install_throttle_answer, json_response
from functions.platform.observability import logger, metrics
from functions.platform.texts import DEFAULT
from functions.web.after import reopen_answer, verdict_page
from functions.web.confirm import asset_response, confirm_page
from functions.web.languages import page_language, path_language
from functions.web.lookup import answer_code_request, answer_lookup, posted_fields
from web import render
from web.http import html_response, prefers_html
from web.texts import text

app = APIGatewayHttpResolver()
install_throttle_answer(app)  # the look-up reads tables: a throttle past the retries is a 503


def _current_language() -> str:
    return path_language(app.current_event.path)


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response[Any]:
    # Only the status look-up reads a body: an unreadable one gets its form back.
    if prefers_html(app.current_event.headers.get("accept")):
        language = _current_language()
        errors = [{"field": "reference", "message": text(language)["err_form"]}]
        return html_response(exc.status, render.status_form(language, errors=errors))
    return json_response(exc.status, exc.body())


@app.not_found
def _not_found(exc: NotFoundError) -> Response[Any]:
    return html_response(404, render.not_found(_current_language()))


@app.get("/")
@app.get("/<lang>")
def home(lang: str | None = None) -> Response[Any]:
    return html_response(200, render.home(page_language(lang)), cache="public, max-age=300")


@app.get("/forms/<service_code>")
@app.get("/<lang>/forms/<service_code>")
def service_form(service_code: str, lang: str | None = None) -> Response[Any]:
    language = page_language(lang)
    service = get_catalog().service(service_code)
    if service is None:
        return html_response(404, render.not_found(language))
    # A fresh submission id per rendered form: a double submit files once.
    page = render.service_form(service, language, submission_id=str(uuid.uuid4()))
    return html_response(200, page)


@app.get("/receipt/<reference>")
@app.get("/<lang>/receipt/<reference>")
def receipt(reference: str, lang: str | None = None) -> Response[Any]:
    """The receipt shows only what its URL holds: reference, service name, ``duplicate``."""
    language = page_language(lang)
    query = app.current_event.query_string_parameters or {}
    service = get_catalog().service(query.get("service", ""))
    if service is None or not is_valid(reference):
        return html_response(404, render.not_found(language))
    return html_response(200, render.receipt(reference, service, language, "duplicate" in query))


@app.get("/status")
@app.get("/<lang>/status")
def status_form(lang: str | None = None) -> Response[Any]:
    page = render.status_form(page_language(lang))
    return html_response(200, page, cache="public, max-age=300")


@app.post("/status")
@app.post("/<lang>/status")
@app.post("/status/code")
@app.post("/<lang>/status/code")
def status_lookup(lang: str | None = None) -> Response[Any]:
    event = app.current_event
    language = page_language(lang)
    answer = answer_code_request if event.path.endswith("/code") else answer_lookup
    html = prefers_html(event.headers.get("accept"))
    return answer(posted_fields(event), language, html, event.request_context.http.source_ip)


@app.get("/confirm/<token>")
@app.get("/<lang>/confirm/<token>")
@app.post("/confirm/<token>")
@app.post("/<lang>/confirm/<token>")
def confirm_contact(token: str, lang: str | None = None) -> Response[Any]:
    """An e-mail's confirmation link: GET shows the button, only its POST confirms."""
    return confirm_page(token, page_language(lang), app.current_event.http_method == "POST")


@app.post("/status/reopen")
@app.post("/<lang>/status/reopen")
def status_reopen(lang: str | None = None) -> Response[Any]:
    html = prefers_html(app.current_event.headers.get("accept"))
    return reopen_answer(posted_fields(app.current_event), page_language(lang), html)


@app.get("/verdict/<token>")
@app.get("/<lang>/verdict/<token>")
def verdict(token: str, lang: str | None = None) -> Response[Any]:
    score = (app.current_event.query_string_parameters or {}).get("score", "")
    return verdict_page(token, score, page_language(lang))  # one tap in an e-mail


@app.get("/static/<name>")
def static_asset(name: str) -> Response[Any]:
    """The stylesheet and script (CloudFront serves them from S3 in AWS)."""
    versioned = "v" in (app.current_event.query_string_parameters or {})
    return asset_response(name, versioned) or html_response(404, render.not_found(DEFAULT))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

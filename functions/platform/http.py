"""Shared pieces of the HTTP handlers: JSON error answers, body parsing, size limits."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from botocore.exceptions import ClientError

from functions.platform.errors import ApiError, Throttled, is_throttle, pydantic_errors, retry_after
from functions.platform.observability import logger, metrics
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
    from pydantic import BaseModel

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, ensure_ascii=False, default=str),
        headers=headers,
    )


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Every handled error becomes ``{"errors": [...]}``; unknown routes get a JSON 404; a
    DynamoDB throttle that outlasted the SDK's retries is a 503 with ``Retry-After``."""
    from pydantic import ValidationError  # noqa: PLC0415 - the web function imports this module and no pydantic

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response[Any]:
        logger.info(
            "request refused",
            extra={"status": exc.status, "fields": [e["field"] for e in exc.errors]},
        )
        return json_response(exc.status, exc.body())

    @app.exception_handler(ValidationError)
    def _validation(exc: ValidationError) -> Response[Any]:
        return json_response(400, {"errors": pydantic_errors(exc)})

    @app.not_found
    def _not_found(exc: NotFoundError) -> Response[Any]:
        return json_response(404, {"errors": [{"field": "path", "message": "no such route"}]})

    install_throttle_answer(app)


def install_throttle_answer(
    app: APIGatewayHttpResolver,
    busy: Callable[[], Response[Any]] | None = None,
    also: tuple[type[Exception], ...] = (),
) -> None:
    """A DynamoDB throttle that outlasted the SDK's retries: 503 with ``Retry-After``, in the
    route family's own format (``busy``: JSON by default, TwiML or Open311 where they answer);
    any other AWS error is raised as before. ``also``: more exception types that may wrap one."""

    def _throttled(exc: Exception) -> Response[Any]:
        if not is_throttle(exc):
            raise exc
        metrics.add_metric(name="ThrottledAnswers", unit="Count", value=1)
        logger.warning("dynamodb throttled past the retries: 503")
        answer = (busy or _json_busy)()
        answer.headers.update(retry_after())
        return answer

    for kind in (ClientError, Throttled, *also):
        app.exception_handler(kind)(_throttled)


def _json_busy() -> Response[Any]:
    """The tables are shedding load; nothing was stored."""
    message = "the service is busy; try again in a moment"
    return json_response(503, {"errors": [{"field": "service", "message": message}]})


def content_type(event: APIGatewayProxyEventV2) -> str:
    return (event.headers.get("content-type") or "").split(";")[0].strip().lower()


def raw_body(event: APIGatewayProxyEventV2) -> str:
    """The decoded body, refused when oversized or not valid UTF-8."""
    body = event.body or ""
    limit = get_settings().max_body_bytes
    if len(body) > limit * 2:  # cheap check before decoding base64
        raise ApiError.one(413, "body", f"the body is larger than {limit} bytes")
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError.one(400, "body", "the body is not valid base64") from exc
    else:
        data = body.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise ApiError.one(413, "body", f"the body is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError.one(400, "body", "the body is not valid UTF-8") from exc


def json_body(event: APIGatewayProxyEventV2) -> Any:
    if content_type(event) not in (JSON, "application/cloudevents+json"):
        raise ApiError.one(415, "content-type", "send the body as application/json")
    text = raw_body(event)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ApiError.one(400, "body", "the body is not valid JSON") from exc
    if "\\u" in text:  # a \ud800 escape decodes to a lone surrogate, which is not text
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ApiError.one(400, "body", "the body has an invalid \\u escape") from exc
    return data


def form_body(event: APIGatewayProxyEventV2) -> dict[str, list[str]]:
    """A form-encoded body as ``{name: [values]}`` (names keep their order of first use)."""
    fields: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(
            raw_body(event), keep_blank_values=True, strict_parsing=False, errors="strict"
        )
    except UnicodeDecodeError as exc:
        raise ApiError.one(400, "body", "the form is not valid UTF-8") from exc
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields


def model_from(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    from pydantic import ValidationError  # noqa: PLC0415 - as in install_error_handlers

    if not isinstance(data, dict):
        raise ApiError.one(400, "body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, pydantic_errors(exc, prefix)) from exc

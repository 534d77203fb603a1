"""Web e-service forms: ``POST /eservice/v1/forms/{service_code}``, form-encoded or JSON.

The fields are the service's attributes (by their catalog code) plus the contact details
(``phone`` and/or ``email``), ``notify_by``, ``consent`` and ``language``. A form may carry a
``submission_id`` (or an ``Idempotency-Key`` header) so a double click files once.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.errors import ApiError
from functions.shared.http import (
    FORM,
    JSON,
    content_type,
    form_body,
    install_error_handlers,
    json_body,
    json_response,
    model_from,
)
from functions.shared.intake import InvalidRequest, citizen_view, file_request
from functions.shared.observability import logger, metrics
from schemas.request import NewRequest

app = APIGatewayHttpResolver()
install_error_handlers(app)

META_FIELDS = {"description", "phone", "email", "notify_by", "language", "consent", "submission_id"}
TRUE = {"1", "true", "on", "yes"}


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    """Accept both flat fields and ``{"attributes": {…}, "contact": {…}}``."""
    flat = {k: v for k, v in data.items() if k not in ("attributes", "contact")}
    for nested in ("attributes", "contact"):
        value = data.get(nested)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise ApiError.one(400, nested, "must be an object")
        flat.update(value)
    return flat


def to_new_request(service_code: str, fields: dict[str, Any]) -> tuple[NewRequest, str | None]:
    """The form's fields as a :class:`NewRequest`, and the form's submission id if any."""
    attributes = {}
    for name, value in fields.items():
        if name in META_FIELDS or name == "service_code":
            continue
        if not isinstance(value, str):
            raise ApiError.one(400, f"attributes.{name}", "must be text")
        attributes[name] = value
    consent = fields.get("consent")
    data = {
        "service_code": service_code,
        "attributes": attributes,
        "description": fields.get("description") or None,
        "contact": {
            "phone": fields.get("phone") or None,
            "email": fields.get("email") or None,
        },
        "notify_by": fields.get("notify_by") or None,
        "language": fields.get("language") or "sv",
        "consent": consent if isinstance(consent, bool) else str(consent or "").lower() in TRUE,
    }
    request: NewRequest = model_from(NewRequest, data)
    submission_id = fields.get("submission_id")
    if submission_id is not None and (
        not isinstance(submission_id, str) or len(submission_id) > 128
    ):
        raise ApiError.one(400, "submission_id", "must be text of at most 128 characters")
    return request, submission_id or None


@app.post("/eservice/v1/forms/<service_code>")
def submit_form(service_code: str) -> Response[Any]:
    event = app.current_event
    kind = content_type(event)
    if kind == FORM:
        fields: dict[str, Any] = {k: v[0] for k, v in form_body(event).items()}
    elif kind == JSON:
        data = json_body(event)
        if not isinstance(data, dict):
            raise ApiError.one(400, "body", "the body must be a JSON object")
        fields = _flatten(data)
    else:
        raise ApiError.one(415, "content-type", f"send the form as {FORM} or {JSON}")
    request, submission_id = to_new_request(service_code, fields)
    submission_id = event.headers.get("idempotency-key") or submission_id
    try:
        filed = file_request(request, channel="eservice", message_id=submission_id)
    except InvalidRequest as exc:
        raise ApiError(400, exc.errors) from exc
    if filed.created:
        metrics.add_metric(name="RequestsFiled", unit="Count", value=1)
    logger.info(
        "request filed",
        extra={"reference": filed.record["reference"], "new_request": filed.created},
    )
    return json_response(201 if filed.created else 200, citizen_view(filed.record))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

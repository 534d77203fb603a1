"""Web e-service forms: ``POST /eservice/v1/forms/{service_code}``, form-encoded or JSON.

The fields are the service's attributes (by their catalog code) plus the contact details
(``phone`` and/or ``email``), ``notify_by``, ``consent`` and ``language``. A form may carry a
``submission_id`` (or an ``Idempotency-Key`` header) so a double click files once.

API clients (a JSON body, or an ``Accept`` that does not prefer HTML) get 201 JSON. A browser's
form post (form-encoded, ``Accept`` ranking ``text/html`` first) gets ``303`` to the receipt
page, or the form drawn again (400) with each error next to its field.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.eservice.forms import browser_submit, flatten, from_browser, to_new_request
from functions.filing import file_and_answer
from functions.platform.errors import ApiError
from functions.platform.http import (
    FORM,
    JSON,
    content_type,
    form_body,
    install_error_handlers,
    json_body,
)
from functions.platform.observability import logger, metrics

app = APIGatewayHttpResolver()
install_error_handlers(app)


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
        fields = flatten(data)
    else:
        raise ApiError.one(415, "content-type", f"send the form as {FORM} or {JSON}")
    if kind == FORM and from_browser(event.headers.get("accept")):
        return browser_submit(service_code, fields)
    request, submission_id = to_new_request(service_code, fields)
    submission_id = event.headers.get("idempotency-key") or submission_id
    return file_and_answer(request, channel="eservice", message_id=submission_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

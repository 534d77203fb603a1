"""The agency API: ``/agency/v1/…``, one bearer key per agency.

An agency subscribes a webhook, reads its own requests with the citizen's contact details
(every read is audited) and moves them along the lifecycle; each status change is stored
with its ``status_changed`` event in one transaction (the outbox), so the bus and the store
never disagree. Another agency's request is a 404, as is one that does not exist.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.agencies.keys import authenticate
from functions.domain.agencies.store import AuditLog, SubscriptionStore
from functions.domain.agencies.urls import UnsafeUrl, check_url
from functions.domain.requests.lifecycle import (
    MAX_IDEMPOTENCY_KEY,
    KeyReused,
    NotFound,
    Refused,
    agency_request,
    change_status,
)
from functions.domain.requests.views import agency_view, seen_fields
from functions.platform.errors import ApiError
from functions.platform.http import install_error_handlers, json_body, json_response, model_from
from functions.platform.observability import logger, metrics
from schemas.agency import StatusUpdateBody, SubscriptionBody

app = APIGatewayHttpResolver()
install_error_handlers(app)


def current_agency() -> str:
    """The calling agency: its key checked here too (the authorizer cannot answer 401)."""
    event = app.current_event
    agency = authenticate(event.headers.get("authorization"))
    if agency is None:
        raise ApiError.one(401, "authorization", "a valid agency key is required (Bearer)")
    lambda_context = (event.raw_event.get("requestContext", {}).get("authorizer") or {}).get(
        "lambda"
    ) or {}
    named = lambda_context.get("agency")
    if named and named != agency:  # the authorizer and the handler must agree
        raise ApiError.one(401, "authorization", "a valid agency key is required (Bearer)")
    return agency


def _not_found() -> ApiError:
    return ApiError.one(404, "reference", "no such request for this agency")


@app.put("/agency/v1/subscriptions")
def subscribe() -> dict[str, Any]:
    agency = current_agency()
    body: SubscriptionBody = model_from(SubscriptionBody, json_body(app.current_event))
    try:
        url = check_url(body.url)
    except UnsafeUrl as exc:
        raise ApiError.one(400, "url", str(exc)) from exc
    types = list(dict.fromkeys(body.types))
    sub = SubscriptionStore().put(agency, url, types)
    logger.info("webhook subscribed", extra={"types": types})
    return {"secret": sub.secret, "url": sub.url, "types": list(sub.types)}


@app.get("/agency/v1/requests/<reference>")
def read_request(reference: str) -> dict[str, Any]:
    agency = current_agency()
    context = app.current_event.request_context
    audit = AuditLog()
    try:
        view = agency_view(agency_request(agency, reference))
    except NotFound:
        audit.record(
            agency, reference, "read", "not_found", [], context.request_id, context.http.source_ip
        )
        raise _not_found() from None
    # Audited before the data leaves: no audit entry, no personal data.
    audit.record(
        agency,
        reference,
        "read",
        "ok",
        seen_fields(view),
        context.request_id,
        context.http.source_ip,
    )
    metrics.add_metric(name="AgencyReads", unit="Count", value=1)
    return view


@app.post("/agency/v1/requests/<reference>/status")
def update_status(reference: str) -> Response[Any]:
    agency = current_agency()
    key = app.current_event.headers.get("idempotency-key") or None
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        message = f"at most {MAX_IDEMPOTENCY_KEY} characters"
        raise ApiError.one(400, "Idempotency-Key", message)
    body: StatusUpdateBody = model_from(StatusUpdateBody, json_body(app.current_event))
    try:
        changed = change_status(
            agency,
            reference,
            body.status,
            note=body.note,
            expected_at=body.expected_at,
            idempotency_key=key,
        )
    except NotFound:
        raise _not_found() from None
    except Refused as exc:
        raise ApiError.one(409, "status", str(exc)) from exc
    except KeyReused as exc:
        raise ApiError.one(422, "Idempotency-Key", str(exc)) from exc
    if not changed.replayed:
        metrics.add_metric(name="StatusChanges", unit="Count", value=1)
    return json_response(200, changed.answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

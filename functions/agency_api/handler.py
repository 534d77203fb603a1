"""The agency API: ``/agency/v1/…``, one bearer key per agency.

An agency subscribes a webhook, reads its own requests with the citizen's contact details
(every read is audited) and moves them along the lifecycle; each status change is stored
with its ``status_changed`` event in one transaction (the outbox), so the bus and the store
never disagree. Another agency's request is a 404, as is one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.agency_api.models import StatusUpdateBody, SubscriptionBody
from functions.domain.agencies.keys import authenticate
from functions.domain.agencies.store import AuditLog, SubscriptionStore
from functions.domain.agencies.urls import UnsafeUrl, check_url
from functions.domain.requests.events import request_event
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import Conflict, RequestStore
from functions.platform.errors import ApiError
from functions.platform.http import install_error_handlers, json_body, json_response, model_from
from functions.platform.observability import logger, metrics
from schemas.event_types import STATUS_CHANGED
from schemas.lifecycle import Status, can_transition

app = APIGatewayHttpResolver()
install_error_handlers(app)

_UPDATE_RETRIES = 3


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


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def retention_expiry(closed_at: datetime) -> int:
    """When a request closed at ``closed_at`` expires: the jurisdiction's retention later."""
    from datetime import timedelta

    from functions.platform.catalog import get_catalog

    days = get_catalog().jurisdiction.retention_days
    return int((closed_at + timedelta(days=days)).timestamp())


def agency_view(record: dict[str, Any]) -> dict[str, Any]:
    """The request as its agency sees it: everything the citizen gave, personal data included."""
    keys = (
        "reference",
        "service_code",
        "agency",
        "channel",
        "status",
        "citizen",
        "attributes",
        "description",
        "contact",
        "language",
        "notify_by",
        "submitted_at",
        "updated_at",
        "expected_at",
        "history",
        "version",
    )
    view = {k: record[k] for k in keys if record.get(k) is not None}
    view["personal_attributes"] = dict(record.get("personal") or {})
    return view


def state_view(record: dict[str, Any]) -> dict[str, Any]:
    """The state after a change (no personal data: nothing here needs an audit entry)."""
    keys = ("reference", "service_code", "agency", "status", "updated_at", "expected_at")
    return {k: record[k] for k in keys if k in record} | {
        "history": record.get("history", []),
        "version": record.get("version"),
    }


def own_request(agency: str, reference: str) -> dict[str, Any] | None:
    record = RequestStore().get(reference) if is_valid(reference) else None
    return record if record is not None and record.get("agency") == agency else None


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
    record = own_request(agency, reference)
    context = app.current_event.request_context
    audit = AuditLog()
    if record is None:
        audit.record(
            agency, reference, "read", "not_found", [], context.request_id, context.http.source_ip
        )
        raise _not_found()
    view = agency_view(record)
    seen = sorted(
        [f"contact.{k}" for k in view.get("contact", {})]
        + [f"personal_attributes.{k}" for k in view["personal_attributes"]]
    )
    # Audited before the data leaves: no audit entry, no personal data.
    audit.record(agency, reference, "read", "ok", seen, context.request_id, context.http.source_ip)
    metrics.add_metric(name="AgencyReads", unit="Count", value=1)
    return view


@app.post("/agency/v1/requests/<reference>/status")
def update_status(reference: str) -> Response[Any]:
    agency = current_agency()
    body: StatusUpdateBody = model_from(StatusUpdateBody, json_body(app.current_event))
    store = RequestStore()
    for _ in range(_UPDATE_RETRIES):
        record = own_request(agency, reference)
        if record is None:
            raise _not_found()
        current = Status(record["status"])
        if not can_transition(current, body.status):
            raise ApiError.one(
                409, "status", f"a request cannot go from {current.value} to {body.status.value}"
            )
        at = _iso(datetime.now(UTC))
        changes: dict[str, Any] = {"status": body.status.value, "updated_at": at}
        if body.expected_at is not None:
            changes["expected_at"] = _iso(body.expected_at)
        if body.status.closed:  # retention runs from the close date (DynamoDB TTL)
            changes["expires_at"] = retention_expiry(datetime.now(UTC))
        entry = {"status": body.status.value, "at": at, "by": f"agency:{agency}", "note": body.note}
        entry = {k: v for k, v in entry.items() if v is not None}
        updated = {
            **record,
            **changes,
            "history": [*record.get("history", []), entry],
            "version": record["version"] + 1,
        }
        event = request_event(
            STATUS_CHANGED, updated, at, previous_status=current.value, note=body.note
        )
        try:
            store.update(reference, record["version"], changes, entry, event)
        except Conflict:
            continue  # changed meanwhile: check the transition again on the fresh record
        logger.info(
            "status changed",
            extra={"reference": reference, "from": current.value, "to": body.status.value},
        )
        metrics.add_metric(name="StatusChanges", unit="Count", value=1)
        return json_response(200, state_view(updated))
    raise ApiError.one(409, "status", "the request changed meanwhile; read it and try again")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

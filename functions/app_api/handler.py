"""The mobile app's JSON API: ``/app/v1/…``, a JWT bearer per citizen (``sub``).

API Gateway's JWT authorizer checks the token and hands the claims over; the handler trusts
them and only ever shows a citizen their own requests.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.citizens.contacts import sms_capable
from functions.domain.citizens.identity import InvalidPhone, normalize_phone, pseudonym
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore
from functions.domain.requests.views import citizen_view
from functions.filing import file_and_answer
from functions.platform.catalog import get_catalog
from functions.platform.errors import ApiError
from functions.platform.http import install_error_handlers, json_body, model_from
from functions.platform.observability import logger, metrics
from schemas.request import AppRequestBody, NewRequest, Preferences

app = APIGatewayHttpResolver()
install_error_handlers(app)


def current_citizen() -> str:
    """The pseudonymous id of the caller, from the JWT ``sub`` claim; 401 without one."""
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.jwt_claim if authorizer else None
    sub = (claims or {}).get("sub")
    if not sub:
        raise ApiError.one(401, "authorization", "a bearer token with a subject is required")
    return pseudonym("app", str(sub))


@app.post("/app/v1/requests")
def create_request() -> Response[Any]:
    citizen = current_citizen()
    body: AppRequestBody = model_from(AppRequestBody, json_body(app.current_event))
    new = NewRequest(
        service_code=body.service_code,
        attributes=body.attributes,
        description=body.description,
        language=body.language or "sv",
        notify_by=body.notify_by,
        consent=True,  # the app asks for notification consent on the device
    )
    key = app.current_event.headers.get("idempotency-key")
    return file_and_answer(new, channel="app", citizen=citizen, message_id=key)


@app.get("/app/v1/requests")
def list_requests() -> dict[str, Any]:
    citizen = current_citizen()
    return {"requests": [citizen_view(r) for r in RequestStore().list_by_citizen(citizen)]}


@app.get("/app/v1/requests/<reference>")
def get_request(reference: str) -> dict[str, Any]:
    citizen = current_citizen()
    record = RequestStore().get(reference) if is_valid(reference) else None
    if record is None or record["citizen"] != citizen:
        raise ApiError.one(404, "reference", "no such request")
    return citizen_view(record)


@app.put("/app/v1/me/preferences")
def put_preferences() -> dict[str, Any]:
    """Notification channel, language and consent; each consent change goes to the ledger.

    A phone or e-mail given here is unconfirmed until it answers the confirmation the notifier
    sends it; SMS only to mobile numbers of the jurisdiction's countries."""
    citizen = current_citizen()
    prefs: Preferences = model_from(Preferences, json_body(app.current_event))
    phone = None
    jurisdiction = get_catalog().jurisdiction
    if prefs.phone:
        try:
            phone = normalize_phone(prefs.phone, jurisdiction.phone_region)
        except InvalidPhone as exc:
            raise ApiError.one(400, "phone", "not a valid phone number") from exc
        if prefs.notify_by == "sms" and not sms_capable(phone, jurisdiction.sms_countries):
            raise ApiError.one(400, "phone", "SMS goes only to mobile numbers of this country")
    needs = {
        "sms": ("phone", phone),
        "email": ("email", prefs.email),
        "push": ("push_endpoint", prefs.push_endpoint),
    }
    if prefs.notify_by in needs and not needs[prefs.notify_by][1]:
        field = needs[prefs.notify_by][0]
        raise ApiError.one(400, field, f"{field} is needed to be notified by {prefs.notify_by}")
    saved = prefs.model_dump(exclude_none=True) | ({"phone": phone} if phone else {})
    store = CitizenStore()
    store.save_preferences(citizen, saved)
    if prefs.notify_by != "none":
        store.set_consent(citizen, prefs.notify_by, prefs.consent, "app:preferences")
    logger.info("preferences saved", extra={"notify_by": prefs.notify_by, "consent": prefs.consent})
    return saved


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

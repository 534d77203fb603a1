"""The mobile app's JSON API: ``/app/v1/…``, a JWT bearer per citizen (``sub``).

API Gateway's JWT authorizer checks the token and hands the claims over; the handler trusts
them and only ever shows a citizen their own requests (and, once linked, those of their phone
and e-mail). A token's ``acr`` names its eIDAS level: a service may ask for a minimum (403
naming ``assurance``), and a high one proves what the tax return's personal code would.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.app_api import after, me
from functions.app_api.identity import assurance, require
from functions.domain.citizens import links
from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.language import choose, from_accept_language, last_used
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.store import RequestStore
from functions.domain.requests.views import citizen_view
from functions.filing import file_and_answer
from functions.platform.catalog import get_catalog
from functions.platform.errors import ApiError
from functions.platform.http import install_error_handlers, json_body, model_from
from functions.platform.observability import logger, metrics
from schemas.request import AppRequestBody, NewRequest

app = APIGatewayHttpResolver()
install_error_handlers(app)


def claims() -> dict[str, Any]:
    authorizer = app.current_event.request_context.authorizer
    return dict((authorizer.jwt_claim if authorizer else None) or {})


def current_citizen() -> str:
    """The pseudonymous id of the caller, from the JWT ``sub`` claim; 401 without one."""
    sub = claims().get("sub")
    if not sub:
        raise ApiError.one(401, "authorization", "a bearer token with a subject is required")
    return pseudonym("app", str(sub))


def wanted_language(citizen: str, store: CitizenStore, asked: str | None = None) -> str:
    """The body's language, else ``Accept-Language``, else the one last used, else default."""
    header = from_accept_language(app.current_event.headers.get("accept-language"))
    return choose(asked, header, last_used(links.identities(citizen, store), store))


@app.post("/app/v1/requests")
def create_request() -> Response[Any]:
    """File; a language named (body or header) is remembered, else ``language_implied``."""
    citizen = current_citizen()
    body: AppRequestBody = model_from(AppRequestBody, json_body(app.current_event))
    level = assurance(claims())
    require(get_catalog().service(body.service_code), level)
    header = from_accept_language(app.current_event.headers.get("accept-language"))
    named = body.language or header
    new = NewRequest(
        service_code=body.service_code,
        attributes=body.attributes,
        description=body.description,
        language=body.language or choose(named),  # one without texts: 400 (intake), not swapped
        notify_by=body.notify_by,
        consent=True,  # the app asks for notification consent on the device
        new=body.new,
    )
    key = app.current_event.headers.get("idempotency-key")
    also = [CitizenStore().language_put(citizen, named, "app")] if named else []
    marks = {} if named else {"language_implied": True}
    return file_and_answer(
        new, channel="app", citizen=citizen, message_id=key, assurance=level, marks=marks, also=also
    )


@app.get("/app/v1/requests")
def list_requests() -> dict[str, Any]:
    """The caller's own requests and those of their linked phone and e-mail, newest first."""
    citizen = current_citizen()
    found = links.requests_of(citizen, CitizenStore(), RequestStore())
    return {"requests": [citizen_view(r) for r in found]}


@app.get("/app/v1/requests/<reference>")
def get_request(reference: str) -> dict[str, Any]:
    return after.view(after.own(current_citizen(), reference, RequestStore()))


@app.post("/app/v1/requests/<reference>/reopen")
def reopen_request(reference: str) -> dict[str, Any]:
    return after.reopen_request(current_citizen(), reference, json_body(app.current_event))


@app.post("/app/v1/requests/<reference>/verdict")
def answer_verdict(reference: str) -> dict[str, Any]:  # an extension (verdict_asked)
    return after.answer_verdict(current_citizen(), reference, json_body(app.current_event))


@app.get("/app/v1/me")
def get_me() -> dict[str, Any]:
    return me.me(current_citizen())


@app.post("/app/v1/me/contacts")
def post_contact() -> Response[Any]:
    citizen = current_citizen()
    data = json_body(app.current_event)
    return me.add_contact(citizen, data, wanted_language(citizen, CitizenStore()))


@app.post("/app/v1/me/contacts/verify")
def verify_contact() -> Response[Any]:
    return me.verify_contact(current_citizen(), json_body(app.current_event))


@app.delete("/app/v1/me/contacts/<kind>")
def delete_contact(kind: str) -> dict[str, Any]:
    return me.remove_contact(current_citizen(), kind)


@app.put("/app/v1/me/preferences")
def put_preferences() -> dict[str, Any]:
    """Channel, language, consent (ledgered); a phone or e-mail must be linked (else 409)."""
    return me.save_preferences(current_citizen(), json_body(app.current_event))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

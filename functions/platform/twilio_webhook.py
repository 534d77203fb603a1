"""Twilio webhooks behind API Gateway: the URL Twilio signed, and the signature check.

Twilio signs the exact URL it was configured with (scheme, host, any stage or base path,
query string) plus every POST parameter. Behind API Gateway the function sees a different
picture: the body arrives base64-encoded, the scheme is in ``x-forwarded-proto`` and a named
stage is a prefix of ``rawPath``. :func:`signed_url` rebuilds what Twilio signed:

* with ``CITIZENBUS_PUBLIC_URL`` (the base URL configured in Twilio, including any stage or
  custom-domain base path): that base + the route path + ``?`` + the raw query string;
* without it: ``{x-forwarded-proto}://{host}`` + ``/{stage}`` (on the execute-api endpoint,
  unless the stage is ``$default``) + the route path + the raw query string. Behind a custom
  domain with a base path, set ``CITIZENBUS_PUBLIC_URL``.

:func:`verified_form` checks the signature over every posted parameter (including any that
Twilio adds in future) before anything else reads the form. ``twilio`` is imported lazily so
functions that never see Twilio do not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from functions.platform import secrets
from functions.platform.errors import ApiError
from functions.platform.http import raw_body
from functions.platform.observability import logger
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"


class Forbidden(Exception):
    """The request does not carry a valid Twilio signature."""


class Form(dict[str, list[str]]):
    """Posted parameters with every value kept; ``getall`` is what Twilio's validator asks."""

    def getall(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str:
        """The parameter's first value, stripped; empty when absent."""
        values = self.get(name)
        return values[0].strip() if values else ""


def route_path(event: APIGatewayProxyEventV2) -> str:
    """The request path without a named stage's prefix (``/prod/channels/x`` → ``/channels/x``)."""
    path = event.raw_path or "/"
    stage = event.request_context.stage
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    return path


def public_base(event: APIGatewayProxyEventV2) -> str:
    """The base URL Twilio calls (no trailing slash): configured, or rebuilt from headers."""
    configured = get_settings().public_url
    if configured:
        return configured.rstrip("/")
    headers = event.headers
    scheme = (headers.get("x-forwarded-proto") or "https").split(",")[0].strip().lower()
    host = headers.get("host") or event.request_context.domain_name
    stage = event.request_context.stage
    # The stage is in the URL only on the execute-api endpoint; a custom domain maps it away.
    on_execute_api = (host or "").split(":")[0].endswith(".amazonaws.com")
    prefix = f"/{stage}" if stage and stage != "$default" and on_execute_api else ""
    return f"{scheme}://{host}{prefix}"


def signed_url(event: APIGatewayProxyEventV2) -> str:
    """The full URL Twilio signed for this request."""
    query = event.raw_query_string
    return public_base(event) + route_path(event) + (f"?{query}" if query else "")


def parse_form(text: str) -> Form:
    form = Form()
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise ApiError.one(400, "body", "the form is not valid UTF-8") from exc
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def verified_form(event: APIGatewayProxyEventV2) -> Form:
    """The posted form, once its ``X-Twilio-Signature`` checks out; else :class:`Forbidden`.

    The signature covers every parameter posted, so parameters Twilio adds later are
    accepted without code changes. The auth token is read at run time from Secrets Manager
    (``TWILIO_AUTH_TOKEN_SECRET_ARN``); everything is refused when it is missing or still the
    local default outside the local bus (a deployment that forgot to set it).
    """
    from twilio.request_validator import RequestValidator, get_signature_algorithm  # noqa: PLC0415 - twilio off the cold start

    signature = event.headers.get(SIGNATURE_HEADER) or ""
    if not signature:
        raise Forbidden("no signature")
    try:
        token = secrets.value("twilio_auth_token")
    except secrets.MissingSecret:
        logger.error("the Twilio auth token is not set; refusing Twilio webhooks")
        raise Forbidden("not configured") from None
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    text = raw_body(event) if event.body else ""
    if text and content_type not in ("application/x-www-form-urlencoded", ""):
        raise Forbidden("not a form")
    form = parse_form(text)
    url = signed_url(event)
    algorithm = get_signature_algorithm(event.headers.get(SETTINGS_HEADER))
    validator = RequestValidator(token)
    if not validator.validate(url, form, signature, algorithm):
        raise Forbidden("bad signature")
    return form


def sign(url: str, params: dict[str, Any], token: str | None = None) -> str:
    """The ``X-Twilio-Signature`` Twilio would send (tests and the local phone simulator)."""
    from twilio.request_validator import RequestValidator  # noqa: PLC0415 - twilio off the cold start

    return str(
        # the simulator's side: the token it was given, else the variable or the local default
        RequestValidator(token or get_settings().twilio_auth_token).compute_signature(url, params)
    )

"""The Lambda authorizer of the ``/agency/`` routes (API Gateway HTTP API, simple responses).

API Gateway answers 401 itself when the ``Authorization`` header (the identity source) is
missing. For a present header this function names the agency the key belongs to in the
authorizer context (``requestContext.authorizer.lambda.agency``), or ``""`` for an unknown
key. It does not deny unknown keys: an HTTP API answers a simple-response denial with a bare
403, while the contract says a wrong key gets 401. The agency API checks the key again with
the same module and answers 401 with the usual JSON errors body.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.domain.agencies.keys import authenticate
from functions.platform.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    agency = authenticate(headers.get("authorization"))
    if agency is None:
        logger.info("unknown agency key", extra={"route": event.get("routeKey")})
    return {"isAuthorized": True, "context": {"agency": agency or ""}}

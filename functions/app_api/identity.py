"""Who the app's caller is and how sure the identity provider is of it.

The JWT authorizer (API Gateway in AWS, the local bus here) checks the token and hands its
claims over: ``sub`` is the citizen, ``acr`` the eIDAS level of assurance of the sign-in
(``http://eidas.europa.eu/LoA/low|substantial|high``). Swedish e-ID brokers that name the
levels of the Swedish framework (``http://id.elegnamnden.se/loa/1.0/loa3`` …) are mapped to
the eIDAS level they are notified at; a token without a known ``acr`` is ``low``. Behind the
Cognito user pool (no OIDC issuer configured) a federated identity provider's ``acr`` is mapped
onto the pool's ``custom:acr`` attribute and read from there.
"""

from __future__ import annotations

from typing import Any

from functions.platform.errors import ApiError
from schemas.catalog import ASSURANCE_URIS, Service, at_least

ELEGNAMNDEN = "http://id.elegnamnden.se/loa/1.0/"
ACR_LEVELS: dict[str, str] = {uri: str(level) for level, uri in ASSURANCE_URIS.items()} | {
    ELEGNAMNDEN + "loa2": "low",
    ELEGNAMNDEN + "loa3": "substantial",
    ELEGNAMNDEN + "nf-sub": "substantial",
    ELEGNAMNDEN + "loa4": "high",
    ELEGNAMNDEN + "nf-high": "high",
}


def assurance(claims: dict[str, Any]) -> str:
    """The eIDAS level (``low``, ``substantial``, ``high``) the token's ``acr`` names."""
    acr = claims.get("acr") or claims.get("custom:acr")  # the latter: Cognito federation
    return ACR_LEVELS.get(str(acr or "").strip(), "low")


def require(service: Service | None, level: str) -> None:
    """403 naming ``assurance`` when the service asks for a stronger identity than ``level``."""
    if service is not None and not at_least(level, service.assurance):
        raise ApiError.one(
            403,
            "assurance",
            f"this service needs a sign-in at eIDAS level {service.assurance} or higher "
            f"(this one is {level}); sign in again with a stronger e-ID",
        )

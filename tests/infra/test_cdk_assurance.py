"""Assurance levels reach the app API in AWS (issue 17): the HTTP API's JWT authorizer hands
every claim of the token to the function, so ``acr`` arrives as the identity provider sent
it; behind the Cognito user pool a federated e-ID's ``acr`` is mapped onto ``custom:acr``."""

from __future__ import annotations

from typing import Any

from functions.app_api.identity import assurance


def test_the_user_pool_keeps_the_sign_ins_acr_for_the_app(prod: Any) -> None:
    _, template = prod
    [pool] = template.of_type("AWS::Cognito::UserPool").values()
    schema = {attribute["Name"]: attribute for attribute in pool.get("Schema", [])}
    assert schema["acr"]["AttributeDataType"] == "String"
    assert schema["acr"]["Mutable"] is True  # federated attributes are written at each sign-in
    # What the function then reads from the claims the authorizer passes on.
    assert assurance({"custom:acr": "http://eidas.europa.eu/LoA/high"}) == "high"
    assert assurance({"acr": "http://id.elegnamnden.se/loa/1.0/loa3"}) == "substantial"
    assert assurance({}) == "low"

"""SnapStart for the functions a citizen waits on: in the template, and only where it is meant."""

from __future__ import annotations

from typing import Any

from citizenbus.local.wiring import extract
from functions.topology import FUNCTIONS
from infra.cdk.constants import ENVIRONMENTS
from infra.cdk.functions_construct import LIVE_ALIAS

CITIZEN_FACING = {"sms", "voice", "app_api", "eservice", "web"}


def _aliases(t: Any, function_logical: str) -> dict[str, dict[str, Any]]:
    return {
        logical: props
        for logical, props in t.of_type("AWS::Lambda::Alias").items()
        if props["FunctionName"] == {"Ref": function_logical}
    }


def test_the_citizen_facing_functions_are_the_snapstart_ones():
    assert {fn.name for fn in FUNCTIONS if fn.snap_start} == CITIZEN_FACING


def test_prod_restores_citizen_facing_functions_from_snapshots_of_published_versions(prod):
    _, t = prod
    for fn in FUNCTIONS:
        logical, props = t.function_of(fn.name)
        if fn.name not in CITIZEN_FACING:
            assert "SnapStart" not in props, fn.name
            assert _aliases(t, logical) == {}, fn.name
            continue
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}, fn.name
        assert props["Runtime"] >= "python3.12"  # SnapStart restores Python 3.12 and later
        # SnapStart does not combine with provisioned concurrency, EFS or more /tmp
        assert "FileSystemConfigs" not in props
        assert props.get("EphemeralStorage", {"Size": 512})["Size"] <= 512
        (alias,) = _aliases(t, logical).values()
        assert alias["Name"] == LIVE_ALIAS
        assert "ProvisionedConcurrencyConfig" not in alias
        version = alias["FunctionVersion"]["Fn::GetAtt"][0]
        assert t.resources[version]["Type"] == "AWS::Lambda::Version"
        assert t.props(version)["FunctionName"] == {"Ref": logical}
        # the replaced version (and its billed snapshot) goes with the next deploy
        assert t.resources[version]["DeletionPolicy"] == "Delete", fn.name


def test_the_http_api_invokes_the_published_version_not_latest(prod):
    # A route integrated with the function itself would run $LATEST, never restored from a
    # snapshot: every route of a SnapStart function goes to its alias, and only the alias may
    # be invoked by API Gateway.
    _, t = prod
    integrations = t.of_type("AWS::ApiGatewayV2::Integration")
    routes = t.of_type("AWS::ApiGatewayV2::Route")
    permissions = t.of_type("AWS::Lambda::Permission")
    for fn in FUNCTIONS:
        if fn.name not in CITIZEN_FACING:
            continue
        logical, _ = t.function_of(fn.name)
        (alias_logical,) = _aliases(t, logical)
        served = {
            p["RouteKey"]
            for p in routes.values()
            if integrations[p["Target"]["Fn::Join"][1][1]["Ref"]]["IntegrationUri"]
            == {"Ref": alias_logical}
        }
        assert served == {f"{r.method} {r.path}" for r in fn.routes}, fn.name
        invokers = [
            p
            for p in permissions.values()
            if p["Principal"] == "apigateway.amazonaws.com"
            and p["FunctionName"] in ({"Ref": alias_logical}, {"Ref": logical})
        ]
        assert invokers, fn.name
        assert all(p["FunctionName"] == {"Ref": alias_logical} for p in invokers), fn.name


def test_an_environment_without_snapstart_publishes_no_versions(each_env):
    env, t = each_env
    snapshots = [p for p in t.of_type("AWS::Lambda::Function").values() if "SnapStart" in p]
    if ENVIRONMENTS[env].snap_start:
        assert len(snapshots) == len(CITIZEN_FACING)
    else:  # dev: no snapshot to pay for, routes straight to the functions
        assert snapshots == []
        assert t.of_type("AWS::Lambda::Alias") == {}
        assert t.of_type("AWS::Lambda::Version") == {}


def test_the_local_bus_routes_an_aliased_function_to_its_handler(prod):
    # The local bus reads its wiring from this template: a route integrated with the alias
    # must still reach the same handler there
    synth, _ = prod
    routes = {r["route_key"]: r["function"] for r in extract(synth.template("prod"))["routes"]}
    for fn in FUNCTIONS:
        for route in fn.routes:
            if route.path == "/" or not route.path.endswith("/"):
                assert routes[f"{route.method} {route.path}"] == fn.name

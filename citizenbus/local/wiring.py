"""The local bus's wiring, taken from the CDK app's synthesized CloudFormation template.

``python -m citizenbus.local.wiring`` (``make wiring``) synthesizes the app's **prod**
environment, the one whose physical names are the local bus's names (``citizenbus-requests``,
``citizenbus-agency-tax``, …), and writes :data:`WIRING_FILE`: per function its handler, its
environment variables, its role's policy statements and its event source mappings; the bus's
rules; the HTTP API's routes and authorizers; the schedules. References between resources stay
symbolic (``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``…); the local bus
resolves them when it starts (:class:`Resolver`) to the names, ARNs and URLs of the resources
it created in its embedded AWS. The file is committed, so ``make run`` needs neither Node nor
the CDK; tests/infra/test_wiring.py fails when it no longer matches the app.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

WIRING_FILE = Path(__file__).with_name("wiring.json")
ENVIRONMENT = "prod"  # its physical names are the local bus's names
PREFIX = "citizenbus-"  # the prod environment's function name prefix

# Resources the template leaves for CloudFormation to name; what the local bus calls them
# (by the start of their logical ID).
UNNAMED: dict[str, str] = {
    "OpenDataBucket": "citizenbus-open-data",
    "FunctionsWebhookSecretsKey": "alias/citizenbus-webhook-secrets",
}
# The properties that name a resource, per type, kept in the wiring for the resolver.
NAME_PROPERTIES: dict[str, str] = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::KMS::Alias": "AliasName",
}


def extract(template: dict[str, Any]) -> dict[str, Any]:
    """The wiring of a synthesized template (references kept symbolic)."""
    resources: dict[str, Any] = template["Resources"]

    def of_type(kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical, resource in sorted(resources.items()):
            if resource["Type"] == kind:
                yield logical, resource.get("Properties", {})

    names: dict[str, str] = {}  # function logical id → topology name
    roles: dict[str, str] = {}  # role logical id → topology name
    functions: dict[str, Any] = {}
    for logical, props in of_type("AWS::Lambda::Function"):
        if not str(props.get("FunctionName", "")).startswith(PREFIX):
            continue  # CDK's own helpers (none today)
        name = props["FunctionName"].removeprefix(PREFIX)
        names[logical] = name
        roles[props["Role"]["Fn::GetAtt"][0]] = name
        functions[name] = {
            "logical_id": logical,
            "handler": props["Handler"],
            "runtime": props.get("Runtime"),
            "timeout": props.get("Timeout"),
            "memory": props.get("MemorySize"),
            "reserved_concurrency": props.get("ReservedConcurrentExecutions"),
            "environment": props.get("Environment", {}).get("Variables", {}),
            "statements": [],
            "event_sources": [],
        }
    # A SnapStart function is invoked through an alias of its published version: the alias
    # (and the version) lead to the same handler, so they name the same function here.
    for kind in ("AWS::Lambda::Version", "AWS::Lambda::Alias"):
        for logical, props in of_type(kind):
            target = props.get("FunctionName", {})
            if isinstance(target, dict) and target.get("Ref") in names:
                names[logical] = names[target["Ref"]]
    for _logical, props in of_type("AWS::IAM::Policy"):
        for role in props.get("Roles", []):
            name = roles.get(role.get("Ref", ""))
            if name:
                functions[name]["statements"] += props["PolicyDocument"]["Statement"]
    for _logical, props in of_type("AWS::Lambda::EventSourceMapping"):
        name = names[props["FunctionName"]["Ref"]]
        functions[name]["event_sources"].append(
            {k: v for k, v in sorted(props.items()) if k not in ("FunctionName", "Tags")}
        )
    rules = {
        props["Name"]: {
            "bus": props.get("EventBusName"),
            "pattern": props.get("EventPattern"),
            "state": props.get("State", "ENABLED"),
            "targets": props.get("Targets", []),
        }
        for _logical, props in of_type("AWS::Events::Rule")
    }
    integrations = {
        logical: _function_of(props.get("IntegrationUri"), names)
        for logical, props in of_type("AWS::ApiGatewayV2::Integration")
    }
    authorizers = {
        logical: {
            "type": props["AuthorizerType"],
            "name": props.get("Name"),
            "identity_source": props.get("IdentitySource", []),
            "function": _function_of(props.get("AuthorizerUri"), names),
            "simple_responses": props.get("EnableSimpleResponses", False),
            "jwt": props.get("JwtConfiguration"),
        }
        for logical, props in of_type("AWS::ApiGatewayV2::Authorizer")
    }
    routes = []
    for _logical, props in of_type("AWS::ApiGatewayV2::Route"):
        target = props["Target"]["Fn::Join"][1][1]["Ref"]
        authorizer = props.get("AuthorizerId", {}).get("Ref")
        routes.append(
            {
                "route_key": props["RouteKey"],
                "function": integrations[target],
                "authorization": props.get("AuthorizationType", "NONE"),
                "authorizer": authorizer,
            }
        )
    routes.sort(key=lambda r: r["route_key"])
    schedules = {
        props["Name"]: {
            "expression": props["ScheduleExpression"],
            "function": _function_of(props["Target"]["Arn"], names),
            "retry": props["Target"].get("RetryPolicy"),
            "dead_letter": props["Target"].get("DeadLetterConfig", {}).get("Arn"),
            "state": props.get("State", "ENABLED"),
        }
        for _logical, props in of_type("AWS::Scheduler::Schedule")
    }
    wiring: dict[str, Any] = {
        "environment": ENVIRONMENT,
        "functions": functions,
        "rules": rules,
        "routes": routes,
        "authorizers": authorizers,
        "schedules": schedules,
    }
    referenced = set(_references(wiring))
    for logical in list(referenced):  # and the dead-letter queues of referenced queues
        referenced |= set(_references(resources.get(logical, {}).get("Properties", {})))
    wiring["resources"] = {
        logical: _resource(logical, resources[logical])
        for logical in sorted(referenced)
        if logical in resources
    }
    return wiring


def _function_of(node: Any, names: dict[str, str]) -> str | None:
    """The topology name of the function an integration/authorizer/target URI points at."""
    found = [ref for ref in _references(node) if ref in names]
    return names[found[0]] if found else None


def _references(node: Any) -> Iterator[str]:
    """Every logical ID ``node`` refers to (Ref, Fn::GetAtt, ${...} in Fn::Sub)."""
    if isinstance(node, dict):
        if "Ref" in node and isinstance(node["Ref"], str):
            yield node["Ref"]
        if "Fn::GetAtt" in node:
            yield node["Fn::GetAtt"][0]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _resource(logical: str, resource: dict[str, Any]) -> dict[str, Any]:
    kind = resource["Type"]
    props = resource.get("Properties", {})
    out: dict[str, Any] = {"type": kind}
    name = props.get(NAME_PROPERTIES.get(kind, ""))
    if isinstance(name, str):
        out["name"] = name
    for start, local in UNNAMED.items():
        if logical.startswith(start):
            out["local"] = local
    if kind == "AWS::DynamoDB::Table":
        out["stream"] = "StreamSpecification" in props
    if kind == "AWS::SQS::Queue":
        out["attributes"] = {
            k: props[k] for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in props
        }
        if "RedrivePolicy" in props:
            out["redrive"] = props["RedrivePolicy"]
    return out


# -- at bus start: symbolic references → local names, ARNs, URLs -------------------------------
class UnresolvedError(LookupError):
    """A reference to a resource the local bus did not create."""


class Resolver:
    """Resolves CloudFormation intrinsics against ``values``: logical ID → {"Ref": …, attr: …}.

    A logical ID missing from ``values`` resolves to a placeholder that matches no real call
    (a policy on a resource the local bus has no counterpart of, e.g. the tables' KMS key), or
    raises :class:`UnresolvedError` when ``strict``."""

    def __init__(
        self, values: dict[str, dict[str, str]], pseudo: dict[str, str], strict: bool = False
    ) -> None:
        self.values = values
        self.pseudo = pseudo
        self.strict = strict

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(v) for v in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            handler = self._intrinsics().get(key)
            if handler is not None:
                return handler(arg)
        return {k: self(v) for k, v in node.items()}

    def _intrinsics(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": lambda a: self.attribute(a, "Ref"),
            "Fn::GetAtt": lambda a: self.attribute(a[0], a[1]),
            "Fn::Join": lambda a: str(a[0]).join(str(self(v)) for v in a[1]),
            "Fn::Select": lambda a: self(a[1])[int(self(a[0]))],
            "Fn::Split": lambda a: str(self(a[1])).split(a[0]),
            "Fn::Sub": self._sub,
        }

    def attribute(self, logical: str, attribute: str) -> str:
        if logical in self.pseudo:
            return self.pseudo[logical]
        value = self.values.get(logical, {}).get(attribute)
        if value is None:
            if self.strict:
                raise UnresolvedError(f"{logical}.{attribute}: no local counterpart")
            return f"arn:aws:local:::{logical}/{attribute}"
        return value

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        out, rest = [], text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            out.append(before)
            if name in variables:
                out.append(str(self(variables[name])))
            else:
                logical, _, attribute = name.partition(".")
                out.append(self.attribute(logical, attribute or "Ref"))
        return "".join(out) + rest


@cache
def load() -> dict[str, Any]:
    """The committed wiring (read once per process)."""
    data: dict[str, Any] = json.loads(WIRING_FILE.read_text(encoding="utf-8"))
    return data


def render(wiring: dict[str, Any]) -> str:
    return json.dumps(wiring, indent=1, sort_keys=True) + "\n"


def main() -> int:
    """Synthesize the app's prod environment and write :data:`WIRING_FILE`."""
    import os  # noqa: PLC0415 - the generator only

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
    import tempfile  # noqa: PLC0415 - the generator only

    from infra.cdk.app import synth  # noqa: PLC0415 - the CDK (Node) only when regenerating

    with tempfile.TemporaryDirectory() as out:
        template = synth((ENVIRONMENT,), out, stage_assets=False).template(ENVIRONMENT)
    WIRING_FILE.write_text(render(extract(template)), encoding="utf-8")
    print(f"wrote {WIRING_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

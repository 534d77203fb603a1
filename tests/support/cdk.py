"""The CDK tests' view of a synthesized CloudFormation template."""

from __future__ import annotations

from typing import Any


class Template:
    """A synthesized CloudFormation template with lookups by type and by logical id."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.resources: dict[str, dict[str, Any]] = body["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v["Properties"] for k, v in self.resources.items() if v["Type"] == kind}

    def props(self, logical_id: str) -> dict[str, Any]:
        props: dict[str, Any] = self.resources[logical_id]["Properties"]
        return props

    def queue_name(self, ref: Any) -> str:
        """The QueueName of a queue given as {"Fn::GetAtt": [id, "Arn"]} or {"Ref": id}."""
        logical = ref["Fn::GetAtt"][0] if "Fn::GetAtt" in ref else ref["Ref"]
        name: str = self.props(logical)["QueueName"]
        return name

    def function_of(self, name: str) -> tuple[str, dict[str, Any]]:
        """A function's logical id and properties by its topology name."""
        for logical, props in self.of_type("AWS::Lambda::Function").items():
            if str(props.get("FunctionName", "")).endswith(f"-{name}"):
                return logical, props
        raise KeyError(name)

"""The CDK app synthesized once per session (it takes ~15 s), and template helpers."""

from __future__ import annotations

import os
from typing import Any

import pytest

# jsii (the CDK's Node runtime) warns on every start that Node 20 is past its end of life;
# `make synth` shows it, the test output need not.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")

pytest.importorskip("aws_cdk", reason="the infra dependency group is not installed")

from infra.cdk.app import Synth, synth
from infra.cdk.constants import ENVIRONMENTS


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


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Every environment of the app (infra/cdk/constants.py ENVIRONMENTS), as `make synth`."""
    return synth(tuple(ENVIRONMENTS), tmp_path_factory.mktemp("cdk"), stage_assets=False)


@pytest.fixture(scope="session")
def prod(synthesized: Synth) -> tuple[Synth, Template]:
    return synthesized, Template(synthesized.template("prod"))

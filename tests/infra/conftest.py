"""The CDK app synthesized once per session (it takes ~15 s), and template helpers."""

from __future__ import annotations

import os

import pytest

# jsii (the CDK's Node runtime) warns on every start that Node 20 is past its end of life;
# `make synth` shows it, the test output need not.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")

pytest.importorskip("aws_cdk", reason="the infra dependency group is not installed")

from infra.cdk.app import Synth, synth
from tests.support.cdk import Template


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synth, Template]:
    result = synth(("prod",), tmp_path_factory.mktemp("cdk-prod"), stage_assets=False)
    return result, Template(result.template("prod"))

"""The CDK app synthesized once per session (it takes ~15 s), and template helpers."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

# jsii (the CDK's Node runtime) warns on every start that this Node major is past its end of
# life, unless the variable names that major; `make synth` shows it, the test output need not.
if node := shutil.which("node"):
    _version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    _major = _version.stdout.strip().removeprefix("v").split(".")[0]
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", _major)

pytest.importorskip("aws_cdk", reason="the infra dependency group is not installed")

from infra.cdk.app import Synth, synth
from infra.cdk.constants import ENVIRONMENTS
from tests.support.cdk import Template


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Every environment of the app (infra/cdk/constants.py ENVIRONMENTS), as `make synth`."""
    return synth(tuple(ENVIRONMENTS), tmp_path_factory.mktemp("cdk"), stage_assets=False)


@pytest.fixture(scope="session")
def prod(synthesized: Synth) -> tuple[Synth, Template]:
    return synthesized, Template(synthesized.template("prod"))


@pytest.fixture(scope="session", params=sorted(ENVIRONMENTS))
def each_env(request: pytest.FixtureRequest, synthesized: Synth) -> tuple[str, Template]:
    """Each environment's template in turn (a test using it runs once per environment)."""
    return request.param, Template(synthesized.template(request.param))

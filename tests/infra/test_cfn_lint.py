"""cfn-lint finds nothing in the templates, and each ignore hides a finding and says why.

``make lint`` runs cfn-lint on every environment's template (infra/cdk/cfn_lint.py); here the
production template of the session's synth is linted once, with and without its ignores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.cdk import cfn_lint
from infra.cdk.constants import ENVIRONMENTS


def _write(path: Path, template: dict[str, Any]) -> Path:
    path.write_text(json.dumps(template, indent=1))
    return path


def test_cfn_lint_is_clean_and_every_ignore_still_hides_a_finding(
    synthesized: Any, tmp_path: Path
) -> None:
    template = synthesized.template("prod")
    assert cfn_lint.lint(_write(tmp_path / "prod.json", template)) == []

    bare = json.loads(json.dumps(template))
    for resource in bare["Resources"].values():
        resource.get("Metadata", {}).pop(cfn_lint.METADATA_KEY, None)
    hidden = {
        (rule, where.rpartition(":")[2].split("/")[1])
        for rule, where, _ in cfn_lint.lint(_write(tmp_path / "bare.json", bare))
    }
    # nothing is ignored that cfn-lint would not report (a stale ignore hides the next one)
    assert hidden == cfn_lint.ignored(template)
    assert hidden, "the ignores are all stale: remove them and this test's second half"


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_every_cfn_lint_ignore_names_a_rule_with_its_reason(synthesized: Any, env: str) -> None:
    ignores = cfn_lint.ignored(synthesized.template(env))
    assert {rule for rule, _ in ignores} <= set(cfn_lint.REASONS)
    assert all(len(reason) > 40 for reason in cfn_lint.REASONS.values())
    # only on the resources the reason is about: each function (CDK's DependsOn its role)
    functions = synthesized.template(env)["Resources"]
    assert {logical for _, logical in ignores} == {
        k for k, r in functions.items() if r["Type"] == "AWS::Lambda::Function"
    }


def test_an_ignore_without_a_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="REASONS"):
        cfn_lint.ignore(None, "E9999")

"""cfn-lint on the synthesized template of every environment, next to cdk-nag (``make lint``).

``python -m infra.cdk.cfn_lint`` synthesizes the app once, every environment of
``constants.ENVIRONMENTS``, and once more prod's deadline-day design
(``-c deadline_day=true``), into a temporary folder (cdk-nag runs on that synth: an
unsuppressed cdk-nag error fails here too), lints each template with cfn-lint's default rules
(errors and warnings) and fails on any finding. It prints the seconds each step took.

A finding is fixed in the app. Where the template is right as it is, the finding is ignored on
the one resource it concerns (:func:`ignore`, cfn-lint's per-resource ``Metadata``), never
for the whole template, and its reason is in :data:`REASONS`; tests/infra/test_cfn_lint.py
fails on an ignore without a reason and on one that no longer hides a finding.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aws_cdk import CfnResource
from constructs import IConstruct

from infra.cdk.constants import ENVIRONMENTS, STACK_NAME

METADATA_KEY = "cfn-lint"

# cfn-lint rule -> why the template is right as it is, for every rule ignored on a resource.
REASONS: dict[str, str] = {
    "W3005": (
        "lambda.Function makes its CfnFunction depend on its role construct, i.e. on the "
        "role's policy (needed: a function or event source mapping created before its policy "
        "is attached fails with AccessDenied) and on the role itself, which the Role GetAtt "
        "already orders. The second DependsOn entry is redundant, not wrong; CDK cannot drop "
        "it alone."
    ),
}


def ignore(construct: IConstruct, rule: str) -> None:
    """Ignore cfn-lint ``rule`` on ``construct``'s CloudFormation resource only."""
    if rule not in REASONS:
        raise ValueError(f"cfn-lint {rule}: say why in infra/cdk/cfn_lint.py REASONS first")
    resource = construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource of its own")
    metadata = resource.get_metadata(METADATA_KEY) or {"config": {"ignore_checks": []}}
    checks: list[str] = metadata["config"]["ignore_checks"]
    if rule not in checks:
        checks.append(rule)
    resource.add_metadata(METADATA_KEY, metadata)


def ignored(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(rule, logical id) of every per-resource cfn-lint ignore in a synthesized template."""
    return {
        (rule, logical)
        for logical, resource in template["Resources"].items()
        for rule in resource.get("Metadata", {})
        .get(METADATA_KEY, {})
        .get("config", {})
        .get("ignore_checks", [])
    }


def lint(template: Path) -> list[tuple[str, str, str]]:
    """cfn-lint's findings on ``template``: (rule, where, message), errors and warnings."""
    from cfnlint.api import (  # noqa: PLC0415 - cfn-lint loads its ~300 rules and specs on import
        ManualArgs,
        lint_file,
    )

    matches = lint_file(template, ManualArgs())
    return [
        (
            match.rule.id,
            f"{match.filename}:{match.linenumber}:{'/'.join(map(str, match.path or ()))}",
            match.message,
        )
        for match in matches
    ]


def main(argv: list[str] | None = None) -> int:
    del argv
    from infra.cdk.app import synth  # noqa: PLC0415 - app imports the constructs, which import this

    # every environment as built, and prod as `cdk deploy -c deadline_day=true` builds it
    runs = ((tuple(ENVIRONMENTS), False), (("prod",), True))
    errors = findings = 0
    names: list[str] = []
    synth_s = lint_s = 0.0
    with tempfile.TemporaryDirectory(prefix="citizenbus-cdk-") as tmp:
        for envs, deadline_day in runs:
            outdir = Path(tmp) / ("deadline-day" if deadline_day else "as-built")
            started = time.perf_counter()
            result = synth(envs, outdir, stage_assets=False, deadline_day=deadline_day)
            synthesized = time.perf_counter()
            errors += len(result.errors)
            for error in result.errors:
                print(f"cdk-nag ERROR: {error}", file=sys.stderr)
            for env in envs:
                name = f"{env} (deadline day)" if deadline_day else env
                names.append(name)
                template = outdir / f"{STACK_NAME.format(env=env)}.template.json"
                for rule, where, message in lint(template):
                    findings += 1
                    print(f"cfn-lint {rule} {name} {Path(where).name}: {message}", file=sys.stderr)
            synth_s += synthesized - started
            lint_s += time.perf_counter() - synthesized
    print(
        f"templates {', '.join(names)}: cdk-nag {errors} error(s), cfn-lint "
        f"{findings} finding(s); synth {synth_s:.1f} s, cfn-lint {lint_s:.1f} s"
    )
    return 1 if findings or errors else 0


if __name__ == "__main__":
    sys.exit(main())

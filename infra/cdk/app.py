"""The CDK app: ``python -m infra.cdk.app [--env dev|prod]`` synthesizes into infra/cdk/cdk.out.

Deadline day: ``-c deadline_day=true`` on the CDK CLI (``--deadline-day`` here) builds the
deadline-day design of functions/topology.py (DEADLINE_DAY_*: the day's route throttles,
table warm throughput, reserved concurrency); without it, the as-built design.

cdk-nag's AwsSolutions pack runs on every synth; an unsuppressed error fails it. The CDK CLI
(``npx aws-cdk deploy --app "python -m infra.cdk.app"``) runs this same module.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
from aws_cdk import cx_api

from infra.cdk import assets
from infra.cdk.constants import ENVIRONMENTS, OUTDIR, STACK_NAME
from infra.cdk.stack import CitizenBusStack
from schemas.catalog import load_catalog


@dataclass
class Synth:
    stacks: dict[str, CitizenBusStack]
    assembly: cx_api.CloudAssembly
    errors: list[str]
    warnings: list[str]

    def template(self, env: str) -> dict[str, object]:
        artifact = self.assembly.get_stack_by_name(STACK_NAME.format(env=env))
        return artifact.template  # type: ignore[no-any-return]


DEADLINE_DAY_CONTEXT = "deadline_day"


def deadline_day_flag(value: object) -> bool:
    """The ``deadline_day`` context value (``-c deadline_day=true`` arrives as a string)."""
    if value is None or value is False or str(value).lower() in ("false", "0", "no", ""):
        return False
    if value is True or str(value).lower() in ("true", "1", "yes"):
        return True
    raise ValueError(f"-c {DEADLINE_DAY_CONTEXT}= takes true or false, not {value!r}")


def deadline_day_of(app: cdk.App) -> bool:
    """Whether the CDK CLI asked for the deadline-day design (its context reaches the app
    through the CDK_CONTEXT_JSON environment variable)."""
    return deadline_day_flag(app.node.try_get_context(DEADLINE_DAY_CONTEXT))


def synth(
    envs: tuple[str, ...] = ("dev", "prod"),
    outdir: Path | str = OUTDIR,
    stage_assets: bool = True,
    deadline_day: bool | None = None,
) -> Synth:
    """Build the app for ``envs``, run cdk-nag, synthesize; nag findings are collected.

    ``stage_assets=False`` (tests) leaves the assets where they are built instead of copying
    ~70 MB of layers into the output; the template is otherwise the same. ``deadline_day``
    None reads the CDK CLI's context (``-c deadline_day=true``)."""
    context: dict[str, object] = {
        "aws:cdk:disable-asset-staging": not stage_assets,
        # reproducible templates: no CDK version metadata, stable asset names
        "aws:cdk:version-reporting": False,
        # S3 access logs through a bucket policy, not the legacy log-delivery ACL
        "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    }
    app = cdk.App(outdir=str(outdir), context=context, analytics_reporting=False)
    if deadline_day is None:
        deadline_day = deadline_day_of(app)
    catalog = load_catalog()
    stacks: dict[str, CitizenBusStack] = {}
    for env in envs:
        settings = replace(ENVIRONMENTS[env], deadline_day=deadline_day)
        stacks[env] = CitizenBusStack(
            app,
            STACK_NAME.format(env=env),
            settings,
            catalog,
            env=cdk.Environment(
                account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
                region=os.environ.get("CDK_DEFAULT_REGION"),
            ),
            description=f"citizenbus ({env}): citizen service bus",
        )
    cdk.Aspects.of(app).add(cdk_nag.AwsSolutionsChecks(verbose=True))
    assembly = app.synth()
    errors: list[str] = []
    warnings: list[str] = []
    for stack in assembly.stacks:
        for message in stack.messages:
            text = f"{stack.stack_name} {message.id}: {message.entry.data}"
            if message.level == cx_api.SynthesisMessageLevel.ERROR:
                errors.append(text)
            elif message.level == cx_api.SynthesisMessageLevel.WARNING:
                warnings.append(text)
    return Synth(stacks, assembly, errors, warnings)


def print_sizes(stack: CitizenBusStack) -> None:
    """Each function's asset and each layer, unzipped and zipped (kB)."""
    built = stack.functions
    rows = [(f"function {name}", Path(p)) for name, p in sorted(built.asset_dirs.items())]
    rows += [(f"layer {name}", p) for name, p in built.layer_dirs.items()]
    print(f"{'asset':32} {'unzipped kB':>12} {'zipped kB':>10}")
    for label, path in rows:
        unzipped, zipped = assets.dir_size(path) / 1024, assets.zipped_size(path) / 1024
        print(f"{label:32} {unzipped:12.0f} {zipped:10.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", choices=sorted(ENVIRONMENTS), action="append")
    parser.add_argument(
        "--deadline-day",
        action="store_true",
        default=None,
        help="the deadline-day design (as the CDK CLI's -c deadline_day=true)",
    )
    args = parser.parse_args(argv)
    # the CDK CLI passes its output folder in CDK_OUTDIR
    outdir = os.environ.get("CDK_OUTDIR", str(OUTDIR))
    result = synth(tuple(args.env or sorted(ENVIRONMENTS)), outdir, deadline_day=args.deadline_day)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in result.errors:
        print(f"ERROR: {error}", file=sys.stderr)
    if result.errors:
        print(f"{len(result.errors)} unsuppressed cdk-nag error(s)", file=sys.stderr)
        return 1
    design = (
        "deadline-day"
        if any(s.settings.deadline_day for s in result.stacks.values())
        else "as-built"
    )
    print(
        f"synthesized {', '.join(result.stacks)} ({design} design) into {outdir}; "
        "cdk-nag: no errors"
    )
    print_sizes(next(iter(result.stacks.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

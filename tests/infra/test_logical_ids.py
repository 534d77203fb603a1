"""Stateful resources keep their CloudFormation logical IDs.

CloudFormation knows a resource by its logical ID. A changed ID (a renamed construct, a
construct moved under another parent, a table renamed in functions/topology.py) is a new
resource to it: it creates the new one and deletes the old one, or orphans it where the
template retains it. Either way the live table, bucket, queue, secret, key or user pool
with its data is no longer the one the stack uses. Hence these IDs are pinned, per
environment, in ``stateful_logical_ids.json``.

A new stateful resource fails this test too, until its ID is pinned on purpose::

    .venv/bin/python -m tests.infra.test_logical_ids   # rewrites the JSON from the app
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from infra.cdk.constants import ENVIRONMENTS

PINNED = Path(__file__).with_name("stateful_logical_ids.json")

# Resource types that hold data (or, for the keys, that data cannot be read without).
STATEFUL_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::SecretsManager::Secret",
        "AWS::KMS::Key",
        "AWS::Cognito::UserPool",  # the citizens' accounts
        "AWS::Events::Archive",  # the events kept for replay
    }
)
# Anything else the template keeps on delete is stateful by its author's own account.
KEPT = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})

WHY = (
    "CloudFormation knows a resource by its logical ID: a changed ID creates a new resource "
    "and deletes (or, if retained, orphans) the old one on deploy, so the data in it (table "
    "items, bucket objects, queued messages, secret values, what a key encrypts, user "
    "accounts) is lost to the stack. Keep the construct IDs and tree paths; if a change is "
    "really meant (e.g. a brand-new resource), pin it with "
    "`.venv/bin/python -m tests.infra.test_logical_ids` and say so in the commit."
)


def stateful_ids(template: dict[str, Any]) -> dict[str, str]:
    """Logical ID -> type of every stateful resource of a synthesized template."""
    return {
        logical: resource["Type"]
        for logical, resource in sorted(template["Resources"].items())
        if resource["Type"] in STATEFUL_TYPES or resource.get("DeletionPolicy") in KEPT
    }


def pinned() -> dict[str, dict[str, str]]:
    environments: dict[str, dict[str, str]] = json.loads(PINNED.read_text())["environments"]
    return environments


def test_every_environment_is_pinned() -> None:
    assert set(pinned()) == set(ENVIRONMENTS)


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_stateful_resources_keep_their_logical_ids(synthesized: Any, env: str) -> None:
    expected = pinned()[env]
    actual = stateful_ids(synthesized.template(env))
    gone = {k: v for k, v in expected.items() if actual.get(k) != v}
    new = {k: v for k, v in actual.items() if k not in expected}
    assert not gone, (
        f"{env}: stateful resources changed their logical ID or type "
        f"(pinned {gone}; the template now has {sorted(new) or 'no new ID'}). {WHY}"
    )
    assert not new, f"{env}: stateful resources not pinned yet: {new}. {WHY}"


def _write() -> int:
    """Pin the logical IDs the app synthesizes now (every environment)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
    from infra.cdk.app import synth

    with tempfile.TemporaryDirectory() as outdir:
        result = synth(tuple(ENVIRONMENTS), outdir, stage_assets=False)
        environments = {env: stateful_ids(result.template(env)) for env in sorted(ENVIRONMENTS)}
    body = {
        "about": (
            "CloudFormation logical IDs of the stateful resources per environment "
            "(tests/infra/test_logical_ids.py): a changed ID replaces the resource on deploy "
            "and loses its data. Regenerate only on purpose: "
            "python -m tests.infra.test_logical_ids"
        ),
        "environments": environments,
    }
    PINNED.write_text(json.dumps(body, indent=2, sort_keys=False) + "\n")
    counts = ", ".join(f"{env} {len(ids)}" for env, ids in environments.items())
    print(f"pinned {counts} logical IDs in {PINNED}")
    return 0


if __name__ == "__main__":
    sys.exit(_write())

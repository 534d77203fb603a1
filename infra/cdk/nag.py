"""cdk-nag suppressions, each with the reason it is acceptable here, kept in one place.

Each one is put on the narrowest construct it concerns; IAM wildcards are suppressed only
for the exact finding (``applies_to``), and tests/infra check the statements themselves
(no ``*`` action, ``*`` resource only for X-Ray).
"""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

REASONS = {
    "xray": (
        "X-Ray PutTraceSegments/PutTelemetryRecords and dynamodb:ListStreams (stream event "
        "sources) have no resource-level permissions, so they need Resource *; no other "
        "action is granted on * (tests/infra checks the statements)."
    ),
    "index": (
        "Queries go to the table's own GSIs (e.g. by-citizen); the grant is this table's "
        "indexes only."
    ),
    "kms": (
        "CDK's table/stream grant on the one customer key of the tables: "
        "GenerateDataKey*/ReEncrypt* are the envelope-encryption actions DynamoDB needs, on "
        "that key ARN only."
    ),
    "s3": (
        "CDK's read/write grant on the open-data bucket only (objects under it): the export "
        "writes and replaces its files there."
    ),
    "sns": "Push goes to the citizens' SNS platform endpoints, created at run time per device.",
    "runtime": (
        "Python 3.12 is the runtime the project pins (matches the tested toolchain and the "
        "arm64 layer built from uv.lock); moving on is a deliberate, tested change."
    ),
    "rotation": (
        "Third-party/operator secrets (Twilio token, agency keys, Open311 keys) are rotated "
        "where they are issued; the pseudonym key must never rotate (citizen ids derive from it)."
    ),
    "open_route": (
        "Citizen-facing public route: health, the e-service form, Open311 reads, and Twilio "
        "webhooks whose X-Twilio-Signature the handler validates (403 otherwise)."
    ),
    "dlq": (
        "This queue is itself a dead-letter queue / on-failure destination; what lands here "
        "waits for redrive and is alarmed on, a DLQ of a DLQ would only move it."
    ),
    "invoke": (
        "CDK grants the scheduler lambda:InvokeFunction on each scheduled function and its "
        "versions (ARN:*); nothing else."
    ),
    "mfa": (
        "Citizens sign in to file requests about themselves; MFA is offered (TOTP) but not "
        "forced, as forcing it would push citizens back to the SMS channel."
    ),
}


def acknowledge(
    construct: IConstruct,
    rule: str,
    reason: str,
    applies_to: list[str | RegexAppliesTo] | None = None,
) -> None:
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=rule, reason=reason, applies_to=applies_to)],
        apply_to_children=True,
    )


def function_role(construct: IConstruct) -> None:
    """The wildcards CDK's own grants put in a function's role, each for its reason."""
    acknowledge(construct, "AwsSolutions-IAM5", REASONS["xray"], ["Resource::*"])
    acknowledge(
        construct,
        "AwsSolutions-IAM5",
        REASONS["index"],
        [RegexAppliesTo(regex="/^Resource::<DataTable.+\\.Arn>\\/index\\/\\*$/g")],
    )
    acknowledge(
        construct,
        "AwsSolutions-IAM5",
        REASONS["kms"],
        ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
    )
    acknowledge(
        construct,
        "AwsSolutions-IAM5",
        REASONS["s3"],
        [
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            RegexAppliesTo(regex="/^Resource::<OpenDataBucket.+\\.Arn>\\/\\*$/g"),
        ],
    )
    acknowledge(
        construct,
        "AwsSolutions-IAM5",
        REASONS["sns"],
        [RegexAppliesTo(regex="/^Resource::arn:<AWS::Partition>:sns:.*:endpoint\\/\\*$/g")],
    )


def suppress(stack: Stack) -> None:
    """Nothing stack-wide: every suppression sits on its construct (see the constructs)."""

"""Names and per-environment settings of the CDK app, in one place.

Physical names follow the local bus (``citizenbus-...``) so that an operator reads the same
queue, rule and table names in AWS as on one machine; a non-production environment puts its
name after the prefix (``citizenbus-dev-agency-tax``) so both can share an account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_DIR = REPO_ROOT / "infra" / "cdk"
BUILD_DIR = CDK_DIR / "build"  # function assets and layers (git-ignored, cached between synths)
OUTDIR = CDK_DIR / "cdk.out"

LOCAL_PREFIX = "citizenbus"
SERVICE = "citizenbus"
METRICS_NAMESPACE = "CitizenBus"

LAMBDA_PYTHON = "3.12"
LAMBDA_PLATFORM = "aarch64-manylinux2014"  # arm64 Lambda (Graviton)

# In the Lambda runtime already; never shipped in a layer.
RUNTIME_PROVIDED = ("boto3", "botocore")
# Shipped in its own layer, attached only to functions with ``uses_twilio``.
TWILIO_PACKAGES = ("twilio",)

# What ``Function.permissions`` in functions/topology.py may name. Each one is granted on the
# one resource it names, never on "*"; an unknown name fails the synth.
PERMISSIONS: dict[str, str] = {
    "events:put": "events:PutEvents on the citizen bus",
    "secret:twilio": "read the Twilio auth token secret (implied by uses_twilio)",
    "secret:agency-keys": "read the agencies' bearer keys (implied for agency_authorizer)",
    "secret:pseudonym": "read the pseudonym HMAC key (implied by writing the requests table)",
    "secret:open311-keys": "read the Open311 api_key list",
    "ses:send": "send e-mail from the configured SES identity",
    "sns:publish": "publish push notifications to SNS platform endpoints",
    "s3:open-data": "read and write the open-data bucket",
    "sqs:send:delivery": "send to the per-agency webhook delivery queues",
    "sqs:redrive": "move messages out of the dead-letter queues back to their sources",
    "scheduler:manage": "create one-off schedules (e.g. SLA timers) in the bus's group",
}

# Function names with a role of their own in the wiring (topology.AUTHORIZERS wins if present).
AGENCY_AUTHORIZER = "agency_authorizer"

# Permissions of functions registered without ``permissions`` in the topology; added to what
# the topology says (prefer the topology field for new functions).
DEFAULT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "redrive": ("sqs:redrive",),
    "open_data": ("s3:open-data",),
    "open_data_export": ("s3:open-data",),
    "open311": ("secret:open311-keys",),
    "notifier": ("ses:send", "sns:publish"),
}

# maxReceiveCount per queue name prefix, as the local bus provisions them (routing.py); the
# rest get queues_construct.MAX_RECEIVES. tests/infra compares every queue with the local bus.
MAX_RECEIVES_BY_PREFIX: dict[str, int] = {"citizenbus-delivery-": 8}

# Reserved concurrency where it protects a dependency (not a quota grab): webhook delivery
# protects agencies' endpoints, SMS/voice protect Twilio's API rate and the open-data export
# must run one at a time. Functions not named here share the account's pool.
RESERVED_CONCURRENCY: dict[str, int] = {
    "webhook_delivery": 10,
    "sms": 20,
    "sms_status": 10,
    "voice": 20,
    "open_data": 1,
}


@dataclass(frozen=True)
class EnvSettings:
    """Everything that differs between environments."""

    name: str
    prefix: str
    # JWT issuer for the app routes; None creates a Cognito user pool for the citizens.
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    throttle_rate: int = 50
    throttle_burst: int = 100
    log_retention_days: int = 30
    archive_days: int = 30
    lambda_memory_mb: int = 512
    lambda_timeout_s: int = 20
    reserved_concurrency: bool = True
    alarm_email: str | None = None
    ses_identity: str = "citizenbus.example.org"
    retain_data: bool = True
    tags: dict[str, str] = field(default_factory=dict)

    def physical(self, local_name: str) -> str:
        """The AWS name of something the local bus calls ``local_name`` (citizenbus-...)."""
        if self.prefix == LOCAL_PREFIX or not local_name.startswith(LOCAL_PREFIX):
            return local_name
        return self.prefix + local_name[len(LOCAL_PREFIX) :]


ENVIRONMENTS: dict[str, EnvSettings] = {
    "dev": EnvSettings(
        name="dev",
        prefix="citizenbus-dev",
        throttle_rate=10,
        throttle_burst=20,
        log_retention_days=7,
        archive_days=7,
        # A fresh account has a small concurrency quota; reserving from it fails the deploy.
        reserved_concurrency=False,
        retain_data=False,
    ),
    "prod": EnvSettings(
        name="prod",
        prefix=LOCAL_PREFIX,
        throttle_rate=200,
        throttle_burst=400,
        log_retention_days=365,
        archive_days=365,
    ),
}

STACK_NAME = "CitizenBus-{env}"

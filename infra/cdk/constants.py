"""Names and per-environment settings of the CDK app, in one place.

Physical names follow the local bus (``citizenbus-...``) so that an operator reads the same
queue, rule and table names in AWS as on one machine; a non-production environment puts its
name after the prefix (``citizenbus-dev-agency-tax``) so both can share an account.

Nothing here is keyed by a function's name: what one function needs (its permissions, its
reserved concurrency) is a field of its entry in functions/topology.py, where a function that
does not exist cannot have settings; infra/cdk/topology_check.py refuses the rest at synth.
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

# The Lambda runtime is the Python the tests run on: one setting, `.python-version`.
LAMBDA_PYTHON = (REPO_ROOT / ".python-version").read_text(encoding="utf-8").strip()
LAMBDA_PLATFORM = "aarch64-manylinux2014"  # arm64 Lambda (Graviton)

# In the Lambda runtime already; never shipped in a layer.
RUNTIME_PROVIDED = ("boto3", "botocore")
# Shipped in its own layer, attached only to functions with ``uses_twilio``.
TWILIO_PACKAGES = ("twilio",)

# maxReceiveCount per queue name prefix, as the local bus provisions them (routing.py); the
# rest get queues_construct.MAX_RECEIVES. tests/infra compares every queue with the local bus.
MAX_RECEIVES_BY_PREFIX: dict[str, int] = {"citizenbus-delivery-": 8}


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
    # False: no function reserves concurrency (Function.reserved_concurrency is not applied)
    reserved_concurrency: bool = True
    # False: no function gets SnapStart (Function.snap_start is not applied); its snapshots
    # are billed per published version and restore, so only production pays for them.
    snap_start: bool = True
    # The deadline-day design (``cdk deploy -c deadline_day=true``, infra/cdk/app.py): the
    # route throttles, table warm throughput and reserved concurrency of functions/topology.py
    # DEADLINE_DAY_*; off, the as-built figures. Not set here: the flag is per deploy.
    deadline_day: bool = False
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
        snap_start=False,
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

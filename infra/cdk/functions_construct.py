"""Every Lambda function of functions/topology.py with its role, layers and event sources."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from functions import topology
from functions.domain.agencies.routing import function_queue
from functions.topology import Function
from infra.cdk import assets, cfn_lint
from infra.cdk.constants import (
    LAMBDA_PYTHON,
    LOCAL_PREFIX,
    METRICS_NAMESPACE,
    SERVICE,
    EnvSettings,
)
from infra.cdk.data_construct import DataConstruct
from infra.cdk.nag import REASONS, acknowledge, function_role
from infra.cdk.queues_construct import QueuesConstruct
from infra.cdk.secrets_construct import SECRETS, SecretsConstruct
from schemas.catalog import Catalog

STREAM_RETRIES = 5
LIVE_ALIAS = "live"  # the alias of a SnapStart function's published version (Function.snap_start)
# The runtime of every function and layer: the Python the tests run on (.python-version).
# SnapStart restores Python 3.12 and later (the CDK's own PYTHON_3_12 says so too).
RUNTIME = lambda_.Runtime(
    f"python{LAMBDA_PYTHON}", lambda_.RuntimeFamily.PYTHON, supports_snap_start=True
)


def expand_queues(names: tuple[str, ...], catalog: Catalog) -> list[str]:
    """Topology queue names with ``{agency}`` expanded per catalog agency (as the local bus)."""
    out: list[str] = []
    for name in names:
        if "{agency}" in name:
            out += [name.format(agency=a) for a in catalog.agency_ids()]
        else:
            out.append(name)
    return out


def agency_authorizer_name() -> str | None:
    """The function behind routes with auth "agency" (topology.AUTHORIZERS), if any."""
    return topology.AUTHORIZERS.get("agency")


def effective_permissions(
    fn: Function, authorizers: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The topology's permissions, then those its shape implies (Twilio, authorizer, buckets,
    the requests table); ``authorizers`` is topology.AUTHORIZERS unless given."""
    authorizers = topology.AUTHORIZERS if authorizers is None else authorizers
    implied: list[str] = []
    if fn.uses_twilio:
        implied.append("secret:twilio")
    if fn.name == authorizers.get("agency") or any(r.auth == "agency" for r in fn.routes):
        # the authorizer, and the API that checks the key again (it never trusts the former)
        implied.append("secret:agency-keys")
    implied += [f"s3:{bucket}" for bucket in fn.buckets]
    if "requests" in fn.tables:
        implied.append("secret:pseudonym")
    return tuple(dict.fromkeys((*fn.permissions, *implied)))


SQS_SEND = "sqs:send:"  # + the local name of a queue a topology function consumes


def handles(permission: str) -> bool:
    """Whether the grant code has a grant for ``permission`` (PERMISSIONS, or sqs:send:...)."""
    return permission in PERMISSIONS or (permission.startswith(SQS_SEND) and permission != SQS_SEND)


class FunctionsConstruct(Construct):
    """arm64, Python 3.12, JSON logs (Powertools), X-Ray active, one role per function that
    reaches only its own tables, queues, secrets and the bus."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: EnvSettings,
        catalog: Catalog,
        data: DataConstruct,
        queues: QueuesConstruct,
        secrets: SecretsConstruct,
        bus_name: str,
        bus_arn: str,
        open_data_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.catalog = catalog
        self.data = data
        self.queues = queues
        self.secrets = secrets
        self.bus_name = bus_name
        self.bus_arn = bus_arn
        self.open_data_bucket = open_data_bucket
        self.asset_dirs: dict[str, str] = {}
        self.redrivers: list[lambda_.Function] = []
        self._webhook_key: kms.Key | None = None

        base_spec, twilio_spec = assets.layer_specs()
        self.layer_dirs = {
            "base": assets.build_layer(base_spec),
            "twilio": assets.build_layer(twilio_spec),
        }
        self.base_layer = self._layer("base", "shared third-party packages (no boto3, no twilio)")
        self.twilio_layer = self._layer("twilio", "twilio and its dependencies")

        self.functions: dict[str, lambda_.Function] = {}
        # What the HTTP API and the authorizer invoke: the ``live`` alias of a SnapStart
        # function (SnapStart restores published versions only), else the function itself.
        self.targets: dict[str, lambda_.IFunction] = {}
        for fn in topology.FUNCTIONS:
            self.functions[fn.name] = self._function(fn)
            self.targets[fn.name] = self._target(fn, self.functions[fn.name])

    def _layer(self, name: str, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            f"Layer-{name}",
            code=lambda_.Code.from_asset(str(self.layer_dirs[name])),
            compatible_architectures=[lambda_.Architecture.ARM_64],
            compatible_runtimes=[RUNTIME],
            description=f"citizenbus {description}",
        )

    def environment(self, fn: Function) -> dict[str, str]:
        env = {
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",  # events carry personal data
            "EVENT_BUS_NAME": self.bus_name,
            "CITIZENBUS_ENV": self.settings.name,
        }
        for table in topology.TABLES:
            env[f"{table.name.upper()}_TABLE"] = self.data.table_name(table)
        env.update(fn.env)
        return env

    def _function(self, fn: Function) -> lambda_.Function:
        code_dir = assets.build_function(fn.name)
        self.asset_dirs[fn.name] = str(code_dir)
        log_group = logs.LogGroup(
            self,
            f"Logs-{fn.name}",
            log_group_name=f"/aws/lambda/{self.settings.prefix}-{fn.name}",
            retention=_retention(self.settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"Role-{fn.name}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"citizenbus {fn.name}: only what its topology entry names",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        reserved = fn.reserved_concurrency if self.settings.reserved_concurrency else None
        if reserved is not None and self.settings.deadline_day:  # -c deadline_day=true
            reserved = max(reserved, fn.deadline_day_reserved_concurrency or reserved)
        function = lambda_.Function(
            self,
            f"Fn-{fn.name}",
            function_name=f"{self.settings.prefix}-{fn.name}",
            description=f"citizenbus {fn.name}",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=fn.handler,
            code=lambda_.Code.from_asset(str(code_dir)),
            layers=[self.base_layer] + ([self.twilio_layer] if fn.uses_twilio else []),
            memory_size=self.settings.lambda_memory_mb,
            timeout=Duration.seconds(self.settings.lambda_timeout_s),
            environment=self.environment(fn),
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if self.snap_start(fn) else None,
            # Every version's snapshot is billed while it is cached (until 14 days without an
            # invocation): a deploy deletes the version it replaces, so only the live one is.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY)
            if self.snap_start(fn)
            else None,
        )
        acknowledge(function, "AwsSolutions-L1", REASONS["runtime"])
        cfn_lint.ignore(function, "W3005")  # CDK's DependsOn its role (cfn_lint.REASONS)
        function_role(role)
        self._grant(fn, function)
        self._sources(fn, function)
        return function

    def snap_start(self, fn: Function) -> bool:
        """Whether ``fn`` starts from a SnapStart snapshot in this environment."""
        return fn.snap_start and self.settings.snap_start

    def _target(self, fn: Function, function: lambda_.Function) -> lambda_.IFunction:
        if not self.snap_start(fn):
            return function
        # current_version: a new version (and snapshot) whenever the code or configuration
        # changes, which the alias then points at (a rollback is a deploy of the old code).
        return lambda_.Alias(
            self,
            f"Live-{fn.name}",
            alias_name=LIVE_ALIAS,
            version=function.current_version,
            description=f"citizenbus {fn.name}: the published version the HTTP API invokes",
        )

    def _grant(self, fn: Function, function: lambda_.Function) -> None:
        for name in fn.tables:
            self.data.tables[name].grant_read_write_data(function)
        for permission in effective_permissions(fn):
            grant = PERMISSIONS.get(permission) or (
                SEND_TO_QUEUE if permission.startswith(SQS_SEND) else None
            )
            if grant is None:  # topology_check refused it before any construct was built
                raise ValueError(f"{fn.name}: no grant for permission {permission!r}")
            grant.apply(self, function, permission)

    def _read_secret(self, function: lambda_.Function, permission: str) -> None:
        secret = self.secrets.secrets[permission]
        secret.grant_read(function)
        _value_env, arn_env = self.secrets.env_names(permission)
        # Only the ARN: the function reads the value at run time (functions/platform/secrets.py)
        function.add_environment(arn_env, secret.secret_arn)

    def _put_events(self, function: lambda_.Function, _permission: str) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.bus_arn])
        )

    def _send_email(self, function: lambda_.Function, _permission: str) -> None:
        # The sender is on the identity the grant names: the default (the local bus's) is
        # another domain, and SES refuses a From its identity does not cover (AccessDenied).
        identity = self.settings.ses_identity
        function.add_environment(
            "EMAIL_FROM", identity if "@" in identity else f"noreply@{identity}"
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[
                    Stack.of(self).format_arn(
                        service="ses",
                        resource="identity",
                        resource_name=self.settings.ses_identity,
                    )
                ],
            )
        )

    def _publish_push(self, function: lambda_.Function, _permission: str) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                resources=[
                    Stack.of(self).format_arn(
                        service="sns", resource="endpoint/*", resource_name=None
                    )
                ],
            )
        )

    def _open_data_bucket(self, function: lambda_.Function, _permission: str) -> None:
        self.open_data_bucket.grant_read_write(function)
        function.add_environment("OPEN_DATA_BUCKET", self.open_data_bucket.bucket_name)

    def _send_to_queue(self, function: lambda_.Function, permission: str) -> None:
        for name in expand_queues((permission.removeprefix(SQS_SEND),), self.catalog):
            queue = self.queues.queue(name)
            queue.grant_send_messages(function)
            owner = next(
                (f.name for f in topology.FUNCTIONS if function_queue(f.name) == name), None
            )
            if owner:  # e.g. NOTIFIER_QUEUE_URL, as the local bus sets it
                function.add_environment(f"{owner.upper()}_QUEUE_URL", queue.queue_url)

    def webhook_secrets_key(self) -> kms.Key:
        """The KMS key of the webhook signing secrets (a key of their own, rotated yearly)."""
        if self._webhook_key is None:
            self._webhook_key = kms.Key(
                self,
                "WebhookSecretsKey",
                description="citizenbus webhook signing secrets (subscriptions table)",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,  # without it no stored secret decrypts
            )
        return self._webhook_key

    def _webhook_secrets(self, function: lambda_.Function, permission: str) -> None:
        key = self.webhook_secrets_key()
        if permission.endswith(":encrypt"):
            key.grant_encrypt(function)
        else:
            key.grant_decrypt(function)
        function.add_environment("WEBHOOK_SECRETS_KEY_ID", key.key_arn)

    def _redrive_outbox(self, function: lambda_.Function, _permission: str) -> None:
        """The outbox stream's on-failure queue, and the stream its pointers point into."""
        self.queues.dead_letter(f"{LOCAL_PREFIX}-outbox-dlq").grant_consume_messages(function)
        self.data.tables["outbox"].grant_stream_read(function)

    def _redrive(self, function: lambda_.Function, _permission: str) -> None:
        self.redrivers.append(function)  # granted in grant_redrive, once every queue exists

    def grant_redrive(self) -> None:
        """After every queue exists: let the redrive function move DLQ messages back."""
        for function in self.redrivers:
            for source, queue in self.queues.queues.items():
                dlq = self.queues.dlqs[f"{source}-dlq"]
                dlq.grant_consume_messages(function)
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=[
                            "sqs:StartMessageMoveTask",
                            "sqs:ListMessageMoveTasks",
                            "sqs:CancelMessageMoveTask",
                        ],
                        resources=[dlq.queue_arn],
                    )
                )
                queue.grant_send_messages(function)

    def _sources(self, fn: Function, function: lambda_.Function) -> None:
        if fn.stream:
            on_failure = self.queues.dead_letter(f"{LOCAL_PREFIX}-{fn.stream}-dlq")
            function.add_event_source(
                sources.DynamoEventSource(
                    self.data.tables[fn.stream],
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=100,
                    bisect_batch_on_error=True,
                    retry_attempts=STREAM_RETRIES,
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(on_failure),
                )
            )
        own = (function_queue(fn.name),) if fn.subscribes else ()
        for name in expand_queues(fn.queues + own, self.catalog):
            function.add_event_source(
                sources.SqsEventSource(
                    self.queues.queue(name),
                    batch_size=10,
                    report_batch_item_failures=True,
                )
            )


@dataclass(frozen=True)
class Grant:
    """What a permission name lets a function do, and the code that grants it."""

    what: str
    apply: Callable[[FunctionsConstruct, lambda_.Function, str], None]


# What ``Function.permissions`` in functions/topology.py may name, each granted on the one
# resource it names, never on "*". A name without a grant here fails the synth
# (infra/cdk/topology_check.py), so the vocabulary is exactly what this module can grant.
PERMISSIONS: dict[str, Grant] = {
    "events:put": Grant("events:PutEvents on the citizen bus", FunctionsConstruct._put_events),
    **{
        name: Grant(f"read the secret: {about}", FunctionsConstruct._read_secret)
        for name, (_suffix, _value_env, _arn_env, about) in SECRETS.items()
    },
    "ses:send": Grant(
        "send e-mail from the configured SES identity", FunctionsConstruct._send_email
    ),
    "sns:publish": Grant(
        "publish push notifications to SNS platform endpoints", FunctionsConstruct._publish_push
    ),
    "s3:open-data": Grant(
        "read and write the open-data bucket (implied by buckets=('open-data',))",
        FunctionsConstruct._open_data_bucket,
    ),
    "sqs:redrive": Grant(
        "move messages out of the dead-letter queues back to their sources",
        FunctionsConstruct._redrive,
    ),
    "outbox:redrive": Grant(
        "read the outbox stream's on-failure queue and the stream it points into",
        FunctionsConstruct._redrive_outbox,
    ),
    "kms:webhook-secrets:encrypt": Grant(
        "encrypt webhook signing secrets with their KMS key", FunctionsConstruct._webhook_secrets
    ),
    "kms:webhook-secrets:decrypt": Grant(
        "decrypt webhook signing secrets with their KMS key", FunctionsConstruct._webhook_secrets
    ),
}
# "sqs:send:<queue>": send to a queue that a topology function consumes ("{agency}" expands).
SEND_TO_QUEUE = Grant(
    "send to a queue that a function of the topology consumes", FunctionsConstruct._send_to_queue
)


def _retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch retention that keeps logs at least ``days`` days."""
    for limit, retention in (
        (7, logs.RetentionDays.ONE_WEEK),
        (30, logs.RetentionDays.ONE_MONTH),
        (90, logs.RetentionDays.THREE_MONTHS),
        (365, logs.RetentionDays.ONE_YEAR),
    ):
        if days <= limit:
            return retention
    return logs.RetentionDays.TEN_YEARS

"""The local bus: moto standing in for AWS, the Lambda handlers called in-process.

``LocalBus`` maps HTTP requests onto API Gateway HTTP API (payload 2.0) events for the
handlers, emulates the JWT authorizer, and plays the event source mappings: the outbox
table's stream feeds the outbox publisher, SQS queues feed their consumer functions, and
timers stand in for EventBridge Scheduler. Tests and ``citizenbus serve`` use the same class.
"""

from __future__ import annotations

import base64
import gc
import importlib
import json
import os
import re
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import boto3
import jwt
from botocore.config import Config

from citizenbus.local import fastmoto, sandbox, wiring
from citizenbus.local.aws import (
    LOCAL_PREFIX,
    bucket_env,
    create_secrets,
    create_wired_queues,
    provision,
    put_wired_rules,
    table_env,
)
from citizenbus.local.twilio_http import RecordingHttpClient
from functions.platform import aws, process
from functions.platform.catalog import get_catalog
from functions.platform.observability import logger
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from citizenbus.local.persistence import Persistence

REGION = "eu-north-1"
ACCOUNT = "123456789012"
DEFAULT_JWT_SECRET = "local-jwt-secret-for-citizenbus-dev-only"  # noqa: S105 - local identity provider only
# Local agency bearer keys (in AWS: Secrets Manager). Printed by ``citizenbus serve``.
DEFAULT_AGENCY_KEYS = "tax=local-tax-key,streets=local-streets-key,waste=local-waste-key"
DEFAULT_OPEN311_KEY = "local-open311-key"  # the api_key Open311 POST accepts locally
warnings.filterwarnings("ignore", message="No application metrics to publish")

TEXT_TYPES = ("application/json", "application/cloudevents+json", "text/", "application/xml")
# Template pseudo parameters, as the local bus answers them
_PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "CitizenBus-prod",
}
# The local bus's own inputs: the harness sees them, no function does (the key values reach
# the functions as Secrets Manager secrets, as in AWS).
_HARNESS_ONLY = {
    "CITIZENBUS_AGENCY_KEYS",
    "CITIZENBUS_OPEN311_KEYS",
    "CITIZENBUS_JWT_SECRET",
    "CITIZENBUS_OPERATOR_TOKEN",
}


AWS_LOCK = threading.RLock()
STREAM_READ_LIMIT = 1000  # records per GetRecords, as Lambda's stream poller reads
STREAM_POLL_SECONDS = 0.25  # Lambda reads each shard four times a second
# While routes are answering (a request in flight, or one ended this recently), a queue
# consumer with messages waiting defers to them, at most QUEUE_DEFER_MAX_S at a time (see
# LocalBus.run_workers); the outbox stream, which carries every request to its agency, never.
ROUTES_QUIET_S = 0.05
QUEUE_DEFER_MAX_S = 1.0


def _serialise_moto() -> None:
    """Every call moto answers in-process (botocore's ``before-send``) holds :data:`AWS_LOCK`:
    functions run in threads of their own, moto's backends are plain shared objects."""
    from moto.core.botocore_stubber import BotocoreStubber  # noqa: PLC0415 - moto with a bus

    if getattr(BotocoreStubber.__call__, "_citizenbus_locked", False):
        return
    answer = BotocoreStubber.__call__

    def locked(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        with AWS_LOCK:
            return answer(self, event_name, request, **kwargs)

    locked._citizenbus_locked = True  # type: ignore[attr-defined]
    BotocoreStubber.__call__ = locked  # type: ignore[method-assign]


def _rate_minutes(expression: str) -> float:
    """``rate(15 minutes)`` / ``rate(1 hour)`` → minutes."""
    amount, unit = expression.removeprefix("rate(").removesuffix(")").split()
    return float(amount) * {"minute": 1, "hour": 60, "day": 1440}[unit.rstrip("s")]


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as ``context``, enough for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class _CompiledRoute:
    method: str
    path: str
    function: str
    pattern: re.Pattern[str]
    jwt: bool = False  # API Gateway's JWT authorizer (emulated with CITIZENBUS_JWT_SECRET)
    authorizer: str | None = None  # the Lambda authorizer's function


@dataclass
class _QueueSource:
    """An SQS event source mapping of the template."""

    queue: str
    function: str
    batch_size: int = 10
    report_failures: bool = False


@dataclass
class _StreamState:
    arn: str
    function: str
    batch_size: int = 100
    max_retries: int = -1  # -1: until the record expires (Lambda's default)
    on_failure: str | None = None  # the on-failure destination's queue name
    report_failures: bool = False
    positions: dict[str, str] = field(default_factory=dict)  # shard id → last sequence read
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    shards: dict[str, str] = field(default_factory=dict)  # sequence number → shard id
    # moto's shard and its length when last read: a poll that finds them unchanged has
    # nothing to read (it skips the three stream calls, as cheap as Lambda's idle poller)
    seen: tuple[Any, int] | None = None


def local_environment(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the local bus runs its handlers in."""
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_ENDPOINT_URL": "",
        "EVENT_BUS_NAME": LOCAL_PREFIX,
        "CITIZENBUS_LOCAL": "1",
        "CITIZENBUS_JWT_SECRET": os.environ.get("CITIZENBUS_JWT_SECRET", DEFAULT_JWT_SECRET),
        # The local values of the agency and Open311 keys: the moto secrets' values (aws.py)
        "CITIZENBUS_AGENCY_KEYS": os.environ.get("CITIZENBUS_AGENCY_KEYS", DEFAULT_AGENCY_KEYS),
        "CITIZENBUS_OPEN311_KEYS": os.environ.get("CITIZENBUS_OPEN311_KEYS", DEFAULT_OPEN311_KEY),
        "POWERTOOLS_SERVICE_NAME": "citizenbus",
        "POWERTOOLS_METRICS_NAMESPACE": "CitizenBus",
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    }
    env.update(table_env())
    env.update(bucket_env())
    env.update(overrides or {})
    return env


class LocalBus:
    """The whole bus in one process. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        public_url: str | None = None,
        twilio_http: Any = None,
        persistence: Persistence | None = None,
    ) -> None:
        self.env = local_environment(env)
        self.overrides = dict(env or {})  # the caller's: every function sees them
        # A data directory (citizenbus serve --data): the state it kept is restored at start
        self.persistence = persistence
        # Twilio's SDK sends through this HTTP client: by default one that records, so nothing
        # leaves the machine and GET /_local/outbox can show what would have been sent.
        self.twilio = twilio_http or RecordingHttpClient()
        if public_url:  # the base URL Twilio signs; handlers read CITIZENBUS_PUBLIC_URL
            self.env["CITIZENBUS_PUBLIC_URL"] = public_url
            self.overrides["CITIZENBUS_PUBLIC_URL"] = public_url
        self.public_url = public_url
        # moto's state is shared by every function: each AWS call holds this lock while moto
        # answers it (and so does a snapshot); a function's own work (a webhook POST, a
        # Twilio send) runs outside it. Invocations are serialised per function only.
        self.lock = AWS_LOCK
        self._locks_guard = threading.Lock()
        self._function_locks: dict[str, threading.RLock] = {}
        self._http_functions: set[str] = set()  # behind a route (see function_lock)
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self.handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self.routes: list[_CompiledRoute] = []
        self.streams: list[_StreamState] = []
        self.queue_urls: dict[str, str] = {}
        self.queue_consumers: list[tuple[str, str]] = []  # (queue name, function)
        self.schedules: dict[str, float] = {}  # function → next run (monotonic)
        self.schedule_minutes: dict[str, float] = {}  # function → its rate
        # function → what its next scheduled run's event adds (once), e.g. a rebuild after seed
        self.schedule_extra: dict[str, dict[str, Any]] = {}
        self.queue_settings: dict[str, _QueueSource] = {}  # queue → its event source mapping
        self.function_env: dict[str, dict[str, str]] = {}  # function → its template variables
        self.wired: set[str] = set()
        self.wiring: dict[str, Any] = {}
        self.resolve = wiring.Resolver({}, _PSEUDO)
        self.environ: sandbox.SandboxEnviron | None = None
        self.enforcer: Any = None
        self.invocations: dict[str, int] = {}
        self._stream_client: Any = None
        # routes in flight, and when the last one ended (monotonic): see _routes_busy
        self._routes_guard = threading.Lock()
        self._routes_active = 0
        self._routes_ended = 0.0
        self.deferred = 0  # queue polls that waited for the routes (serve's workers)

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> LocalBus:
        from moto import mock_aws  # noqa: PLC0415 - moto (~500 ms, a dev dependency) once a bus starts

        from citizenbus.local import iam  # noqa: PLC0415 - imports moto, as above

        iam.register()  # before any client of this bus exists
        self.environ = sandbox.install()
        for key, value in self.env.items():
            self._saved_env[key] = os.environ.get(key)
            if value == "":
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        fastmoto.install()  # moto's costs follow the items a call touches (fastmoto.py)
        _serialise_moto()
        self._mock = mock_aws()
        self._mock.start()
        self._fresh_process()
        logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])  # loggers made before start too
        settings = get_settings()
        catalog = get_catalog()
        restored = self.persistence is not None and self.persistence.load_aws(self)
        if not restored:  # a restored bus has its tables, queues and key already
            self.queue_urls = provision(catalog, settings.event_bus, rules=False)
        # Secrets as in AWS: values in (moto's) Secrets Manager, their ARNs in the environment.
        for key, arn in create_secrets().items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = arn
        self._wire(wiring.load())
        # The test harness (code outside any function) sees every function's variables.
        for fn_env in self.function_env.values():
            for key, value in fn_env.items():
                self._saved_env.setdefault(key, os.environ.get(key))
                os.environ[key] = value
        # The SES identities the functions send from (the template's EMAIL_FROM)
        for sender in {
            env["EMAIL_FROM"] for env in self.function_env.values() if "EMAIL_FROM" in env
        }:
            identity = sender.rpartition("@")[2]
            ses = aws.client("sesv2")
            if identity not in {
                i["IdentityName"] for i in ses.list_email_identities()["EmailIdentities"]
            }:
                ses.create_email_identity(EmailIdentity=identity)  # a restored bus has it
        self._fresh_process()  # the settings again, with the queue URLs
        self.enforcer = iam.Enforcer(
            {
                name: iam.Role(name, self.resolve(fn["statements"]))
                for name, fn in self.wiring["functions"].items()
            }
        )
        iam.ENFORCER.append(self.enforcer)
        for name, fn in self.wiring["functions"].items():
            module_name, _, attr = fn["handler"].rpartition(".")
            with self.sandbox(name):  # import-time code sees the function's own environment
                self.handlers[name] = getattr(importlib.import_module(module_name), attr)
        if self.persistence is not None:  # stream positions, recorded texts
            self.persistence.attach(self)
        return self

    def _wire(self, wired: dict[str, Any]) -> None:
        """Resolve the template's wiring (wiring.json) against this bus's resources; put its
        rules on the bus."""
        self.wiring = wired
        create_wired_queues(wired["resources"], self.queue_urls)
        self.resolve = wiring.Resolver(self._local_values(wired["resources"]), _PSEUDO)
        put_wired_rules(wired["rules"], self.resolve)
        strict = wiring.Resolver(self.resolve.values, _PSEUDO, strict=True)
        # "" (the API's URL when the bus was given none): unset, the handlers use the Host
        self.function_env = {
            name: {k: str(v) for k, v in strict(fn["environment"]).items() if v != ""}
            for name, fn in wired["functions"].items()
        }
        # Variables the template sets for some function: a function sees only its own.
        self.wired = {key for env in self.function_env.values() for key in env} | _HARNESS_ONLY
        authorizers = wired["authorizers"]
        for route in wired["routes"]:
            method, _, path = route["route_key"].partition(" ")
            regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path))
            authorizer = authorizers.get(route["authorizer"] or "", {})
            self.routes.append(
                _CompiledRoute(
                    method,
                    path,
                    route["function"],
                    re.compile(f"^{regex}$"),
                    jwt=authorizer.get("type") == "JWT",
                    authorizer=authorizer.get("function"),
                )
            )
        self._http_functions = {c.function for c in self.routes}
        # As API Gateway: the most specific route wins (GET /status before GET /{lang}).
        self.routes.sort(key=lambda c: c.path.count("{"))
        for name, fn in wired["functions"].items():
            for source in fn["event_sources"]:
                arn = self.resolve(source["EventSourceArn"])
                report = "ReportBatchItemFailures" in source.get("FunctionResponseTypes", [])
                if ":dynamodb:" in arn:
                    failure = self.resolve(
                        source.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                    )
                    self.streams.append(
                        _StreamState(
                            arn=arn,
                            function=name,
                            batch_size=int(source.get("BatchSize", 100)),
                            max_retries=int(source.get("MaximumRetryAttempts", -1)),
                            on_failure=str(failure).rsplit(":", 1)[-1] if failure else None,
                            report_failures=report,
                        )
                    )
                else:
                    queue = arn.rsplit(":", 1)[-1]
                    self.queue_consumers.append((queue, name))
                    self.queue_settings[queue] = _QueueSource(
                        queue, name, int(source.get("BatchSize", 10)), report
                    )
        for schedule in wired["schedules"].values():
            if schedule["state"] == "ENABLED" and schedule["function"]:
                minutes = _rate_minutes(schedule["expression"])
                self.schedule_minutes[schedule["function"]] = minutes
                self.schedules[schedule["function"]] = time.monotonic() + minutes * 60

    def _local_values(self, resources: dict[str, Any]) -> dict[str, dict[str, str]]:
        """Each template resource's Ref and attributes, as this bus's resources answer them."""
        values: dict[str, dict[str, str]] = {}
        # Stack parameters (the operator's Twilio account and number, given at deploy): locally
        # the value of the variable each one feeds, from the bus's own environment; unset → the
        # variable is left out and the function uses its local default.
        for fn in self.wiring["functions"].values():
            for key, value in fn["environment"].items():
                ref = value.get("Ref") if isinstance(value, dict) else None
                if isinstance(ref, str) and ref not in resources and ref not in _PSEUDO:
                    real = self.environ.real if self.environ is not None else os.environ
                    values[ref] = {"Ref": real.get(key, "")}
        for logical, resource in resources.items():
            kind, name = resource["type"], resource.get("local") or resource.get("name")
            if name is None and kind != "AWS::ApiGatewayV2::Api":
                continue  # no local counterpart: references resolve to placeholders
            if kind == "AWS::DynamoDB::Table":
                arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
                values[logical] = {"Ref": name, "Arn": arn}
                if resource.get("stream"):
                    table = aws.dynamodb().describe_table(TableName=name)["Table"]
                    values[logical]["StreamArn"] = table["LatestStreamArn"]
            elif kind == "AWS::SQS::Queue":
                url = (
                    self.queue_urls.get(name) or aws.sqs().get_queue_url(QueueName=name)["QueueUrl"]
                )
                arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
                values[logical] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}
            elif kind == "AWS::SecretsManager::Secret":
                arn = aws.client("secretsmanager").describe_secret(SecretId=name)["ARN"]
                values[logical] = {"Ref": arn, "Id": arn}
            elif kind == "AWS::Events::EventBus":
                arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"
                values[logical] = {"Ref": name, "Name": name, "Arn": arn}
            elif kind == "AWS::S3::Bucket":
                values[logical] = {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
            elif kind == "AWS::KMS::Key":
                key = aws.client("kms").describe_key(KeyId=name)["KeyMetadata"]
                values[logical] = {"Ref": key["KeyId"], "Arn": key["Arn"], "KeyId": key["KeyId"]}
            elif kind == "AWS::Logs::LogGroup":
                arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
                values[logical] = {"Ref": name, "Arn": arn}
            elif kind == "AWS::ApiGatewayV2::Api":
                values[logical] = {"Ref": "local", "ApiEndpoint": self.public_url or ""}
            elif kind == "AWS::Lambda::Function":
                arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
                values[logical] = {"Ref": name, "Arn": arn}
        return values

    def environment_of(self, function: str) -> dict[str, str]:
        """What ``function`` finds in its environment: the template's variables (resolved),
        and of the rest only what is not any function's wiring (region, credentials, the local
        bus's settings and the developer's tuning variables, e.g. WEBHOOK_ATTEMPTS)."""
        assert self.environ is not None, "the bus is not running"
        real = self.environ.real
        env = {k: v for k, v in real.items() if k not in self.wired}
        env.update(self.function_env.get(function, {}))
        for key, value in self.overrides.items():
            if value:
                env[key] = value
            else:
                env.pop(key, None)
        return env

    def rewire(
        self,
        function: str,
        *,
        environment: dict[str, str] | None = None,
        statements: list[dict[str, Any]] | None = None,
    ) -> None:
        """Give one running function another environment (resolved values) and/or role
        statements (symbolic, as in wiring.json) and make its next invocation a cold start;
        the other functions and the bus's resources stay as they are. For the wiring's
        mutation test (tests/support/wiring_mutations.py), which applies ~300 mutations to
        one bus; ``rewire(f, environment=..., statements=...)`` with the originals undoes one."""
        from citizenbus.local import iam  # noqa: PLC0415 - see start

        if environment is not None:
            self.function_env[function] = dict(environment)
        if statements is not None:
            self.enforcer.roles[function] = iam.Role(function, self.resolve(statements))
        process.forget(function)

    @contextmanager
    def sandbox(self, function: str) -> Iterator[None]:
        """Run the block as ``function`` (its environment, process state and role); outside
        any, code is the test harness: every variable, no role."""
        assert self.environ is not None, "the bus is not running"
        with process.sandbox(function):
            self.environ.sandboxes[function] = self.environment_of(function)
            yield

    def stop(self) -> None:
        from citizenbus.local import iam  # noqa: PLC0415 - see start

        if self.enforcer in iam.ENFORCER:
            iam.ENFORCER.remove(self.enforcer)
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._stream_client = None
        # what seeding or a restore froze (seed.settle) is this bus's: collectable again
        gc.unfreeze()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self.environ is not None:
            sandbox.uninstall()
            self.environ = None
        process.reset()

    def _fresh_process(self) -> None:
        """Forget what the process built against a previous AWS; hand it this bus's Twilio."""
        process.reset()
        process.inject(twilio_http_client=self.twilio)

    def __enter__(self) -> LocalBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- invoking functions ---------------------------------------------------------------
    def function_lock(self, function: str) -> threading.RLock:
        """One invocation of ``function`` at a time (one execution environment, as a Lambda
        function with reserved concurrency 1); other functions run meanwhile. The functions
        behind HTTP routes share one lock: Powertools' event handler keeps the current event
        on a class attribute every resolver in a process shares (``BaseRouter.current_event``;
        in AWS each function is a process of its own), so locally they take turns, while the
        consumers and schedules (a slow webhook, an export) run beside them."""
        if function in self._http_functions:
            function = "(http)"
        with self._locks_guard:
            lock = self._function_locks.get(function)
            if lock is None:
                lock = self._function_locks[function] = threading.RLock()
            return lock

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Call a function's handler as Lambda would, one invocation at a time, in the
        function's sandbox: its own environment, its own process state, its role enforced."""
        with self.function_lock(function), self.sandbox(function):
            self.invocations[function] = self.invocations.get(function, 0) + 1
            return self.handlers[function](event, LambdaContext(f"citizenbus-{function}"))

    # -- HTTP -------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        json_body: Any = None,
        host: str = "127.0.0.1:8000",
    ) -> HttpResponse:
        """Serve one HTTP request the way API Gateway would, through the route's function."""
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("content-type", "application/json")
        raw = body.encode() if isinstance(body, str) else (body or b"")
        path, _, query = path.partition("?")
        if path != "/" and path.endswith("/"):
            path = path.rstrip("/")  # HTTP API routes have no trailing "/" (api_construct.py)
        for compiled in self.routes:
            match = compiled.pattern.match(path)
            if match and compiled.method == method.upper():
                break
        else:
            allowed = any(c.pattern.match(path) for c in self.routes)
            status = 405 if allowed else 404
            message = "method not allowed" if allowed else "no such route"
            return _json(status, {"errors": [{"field": "path", "message": message}]})
        claims = None
        if compiled.jwt:
            claims = self._verify_jwt(headers.get("authorization", ""))
            if claims is None:
                return _json(
                    401,
                    {
                        "message": "Unauthorized",
                        "errors": [
                            {
                                "field": "authorization",
                                "message": "a valid bearer token is required",
                            }
                        ],
                    },
                )
        event = self._http_event(
            compiled, match.groupdict(), method, path, query, headers, raw, host, claims
        )
        with self._route():
            if compiled.authorizer is not None:
                denied = self._lambda_authorizer(compiled.authorizer, event, method, path)
                if denied is not None:
                    return denied
            result = self.invoke(compiled.function, event)
        return _http_result(result)

    @contextmanager
    def _route(self) -> Iterator[None]:
        with self._routes_guard:
            self._routes_active += 1
        try:
            yield
        finally:
            with self._routes_guard:
                self._routes_active -= 1
                self._routes_ended = time.monotonic()

    def _routes_busy(self) -> bool:
        """Whether a route is answering, or answered within :data:`ROUTES_QUIET_S`."""
        return bool(self._routes_active) or (time.monotonic() - self._routes_ended < ROUTES_QUIET_S)

    def _pump_after_routes(self, queue: str, function: str, stop: threading.Event) -> int:
        """:meth:`pump_queue`, after :meth:`_defer_to_routes`."""
        self._defer_to_routes(queue, stop)
        return self.pump_queue(queue, function)

    def _defer_to_routes(self, queue: str, stop: threading.Event) -> None:
        """Before a queue poll with messages waiting: wait while the routes are busy, at most
        :data:`QUEUE_DEFER_MAX_S`. All functions share one interpreter here (one GIL), where
        in AWS each runs on its own: a consumer working beside a burst of filings takes the
        routes' CPU. As Lambda's poller with a batching window, the consumer gets the
        messages a little later, in fuller batches; it is never held longer than the cap."""
        if not self._routes_busy() or not _has_visible(queue):
            return
        self.deferred += 1
        deadline = time.monotonic() + QUEUE_DEFER_MAX_S
        while self._routes_busy() and time.monotonic() < deadline and not stop.is_set():
            stop.wait(ROUTES_QUIET_S / 2)

    def _lambda_authorizer(
        self, function: str, event: dict[str, Any], method: str, path: str
    ) -> HttpResponse | None:
        """API Gateway's Lambda authorizer (payload 2.0, simple responses) for ``event``.

        No ``Authorization`` header (the identity source): 401 without calling anything.
        ``isAuthorized`` false: 403. Otherwise the context lands in
        ``requestContext.authorizer.lambda``; None means go on to the route's function.
        """
        identity = event["headers"].get("authorization")
        if not identity:
            return _json(
                401,
                {
                    "message": "Unauthorized",
                    "errors": [{"field": "authorization", "message": "an agency key is required"}],
                },
            )
        request = {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
        request.update(
            type="REQUEST",
            routeArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:local/$default/{method.upper()}{path}",
            identitySource=[identity],
        )
        answer = self.invoke(function, request) or {}
        if answer.get("isAuthorized") is not True:
            return _json(403, {"message": "Forbidden"})
        event["requestContext"]["authorizer"] = {"lambda": answer.get("context") or {}}
        return None

    def _verify_jwt(self, authorization: str) -> dict[str, Any] | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                os.environ["CITIZENBUS_JWT_SECRET"],
                algorithms=["HS256"],
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.PyJWTError:
            return None
        return claims

    def _http_event(
        self,
        compiled: _CompiledRoute,
        params: dict[str, str],
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        raw: bytes,
        host: str,
        claims: dict[str, Any] | None,
    ) -> dict[str, Any]:
        ctype = headers.get("content-type", "")
        is_text = not raw or any(ctype.startswith(t) for t in TEXT_TYPES)
        try:
            body = raw.decode("utf-8") if is_text else base64.b64encode(raw).decode()
        except UnicodeDecodeError:
            is_text, body = False, base64.b64encode(raw).decode()
        query_params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            query_params[key] = f"{query_params[key]},{value}" if key in query_params else value
        now = datetime.now(UTC)
        route_key = f"{compiled.method} {compiled.path}"
        headers = {"host": host, "x-forwarded-proto": "http", **headers}
        context: dict[str, Any] = {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": host.split(":", maxsplit=1)[0],
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        if claims is not None:
            context["authorizer"] = {
                "jwt": {"claims": {k: str(v) for k, v in claims.items()}, "scopes": None}
            }
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": not is_text,
        }
        if "cookie" in headers:
            event["cookies"] = [c.strip() for c in headers.pop("cookie").split(";")]
        if query_params:
            event["queryStringParameters"] = query_params
        if params:
            event["pathParameters"] = params
        if raw:
            event["body"] = body
        return event

    # -- event sources ------------------------------------------------------------------------
    def _streams_client(self) -> Any:
        # Newer botocore aims stream calls at account endpoints that moto does not serve.
        # One client for the bus's life (making one costs ~10 ms; clients are thread-safe).
        if self._stream_client is None:
            self._stream_client = boto3.client(
                "dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")
            )
        return self._stream_client

    def pump_streams(self) -> int:
        """Deliver new stream records to their functions; the number of records handled."""
        client = self._streams_client()
        return sum(self.pump_stream(state, client) for state in self.streams)

    def pump_stream(self, state: _StreamState, client: Any = None) -> int:
        """One batch of one stream's records to its function (as Lambda's poller does)."""
        client = client or self._streams_client()
        with self.function_lock(state.function):
            if not state.pending:
                shard = _moto_shard(state.arn)
                if shard is not None and state.seen == shard:
                    return 0  # nothing written since the last read
                state.pending = self._read_stream(client, state)
                # a full read may have left records behind: the next poll reads again
                state.seen = shard if len(state.pending) < STREAM_READ_LIMIT else None
                state.attempts = 0
            if not state.pending:
                return 0
            batch = state.pending[: state.batch_size]
            try:
                result = self.invoke(state.function, {"Records": batch}) or {}
                failed = _failures(result) if state.report_failures else set()
            except Exception:  # the whole batch failed: retry it
                failed = {batch[0]["dynamodb"]["SequenceNumber"]}
            if not failed:
                state.pending = state.pending[len(batch) :]
                return len(batch)
            first = min(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
            state.pending = state.pending[first:]
            state.attempts += 1
            if 0 <= state.max_retries < state.attempts:
                # The on-failure destination keeps what could not be processed.
                if state.on_failure:
                    aws.sqs().send_message(
                        QueueUrl=self.queue_urls[state.on_failure],
                        MessageBody=json.dumps(self._on_failure(state, state.pending[0])),
                    )
                state.pending = state.pending[1:]
                state.attempts = 0
            return first

    def _on_failure(self, state: _StreamState, record: dict[str, Any]) -> dict[str, Any]:
        """What Lambda sends a stream's on-failure destination: a pointer, not the record."""
        sequence = record["dynamodb"]["SequenceNumber"]
        arrived = datetime.fromtimestamp(
            float(record["dynamodb"].get("ApproximateCreationDateTime") or time.time()), UTC
        ).isoformat(timespec="milliseconds")
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": LambdaContext(f"citizenbus-{state.function}").invoked_function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": state.attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": state.shards.get(sequence, ""),
                "startSequenceNumber": sequence,
                "endSequenceNumber": sequence,
                "approximateArrivalOfFirstRecord": arrived,
                "approximateArrivalOfLastRecord": arrived,
                "batchSize": 1,
                "streamArn": state.arn,
            },
        }

    def _read_stream(self, client: Any, state: _StreamState) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        shards = client.describe_stream(StreamArn=state.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            # A fresh iterator from the last position read, on the stream as it is now: moto
            # undoes a cancelled transaction (a retried filing, a lost race) by swapping in
            # copies of its tables, and an iterator kept from before would go on reading the
            # old stream: the undone writes, and nothing written after.
            after = state.positions.get(shard_id)
            start: dict[str, str] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = client.get_shard_iterator(StreamArn=state.arn, ShardId=shard_id, **start)[
                "ShardIterator"
            ]
            response = client.get_records(ShardIterator=iterator, Limit=STREAM_READ_LIMIT)
            for raw in response.get("Records", []):
                state.positions[shard_id] = raw["dynamodb"]["SequenceNumber"]
                record = json.loads(json.dumps(raw, default=str))
                created = record["dynamodb"].get("ApproximateCreationDateTime")
                if isinstance(created, str):
                    record["dynamodb"]["ApproximateCreationDateTime"] = datetime.fromisoformat(
                        created
                    ).timestamp()
                record["eventSourceARN"] = state.arn
                state.shards[record["dynamodb"]["SequenceNumber"]] = shard_id
                records.append(record)
        return records

    def pump_queues(self) -> int:
        """Deliver SQS messages to their consumer functions (batches of 10, partial failures)."""
        return sum(self.pump_queue(queue, function) for queue, function in self.queue_consumers)

    def pump_queue(self, queue: str, function: str) -> int:
        """One receive from ``queue`` into ``function`` (as Lambda's SQS poller does)."""
        sqs = aws.sqs()
        url = self.queue_urls[queue]
        source = self.queue_settings.get(queue) or _QueueSource(queue, function)
        with self.function_lock(function):
            if not _has_visible(queue):
                return 0  # what receive_message would answer, without the call
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(source.batch_size, 10),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return 0
            arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
            records = [_sqs_record(dict(m), arn) for m in messages]
            try:
                result = self.invoke(function, {"Records": records}) or {}
                failed = _failures(result) if source.report_failures else set()
            except Exception:
                failed = {m["MessageId"] for m in messages}
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )
            return len(done)

    def run_schedules(self, force: bool = False) -> int:
        ran = 0
        for function, due in list(self.schedules.items()):
            if force or time.monotonic() >= due:
                minutes = self.schedule_minutes.get(function, 1)
                self.schedules[function] = time.monotonic() + minutes * 60
                extra = self.schedule_extra.pop(function, {})
                self.invoke(function, _scheduler_event(function) | extra)
                ran += 1
        return ran

    def pump(self, max_rounds: int = 50) -> int:
        """Run the event sources until nothing moves; the number of records handled."""
        total = 0
        for _ in range(max_rounds):
            moved = self.pump_streams() + self.pump_queues()
            total += moved
            if not moved and not any(s.pending for s in self.streams):
                break
        return total

    def run_workers(self, stop: threading.Event, interval: float = 0.1) -> None:
        """Background loops for ``citizenbus serve``: one per event source, as Lambda polls
        each on its own (a consumer waiting on a slow webhook holds up no other consumer and
        no route), and one for the schedules. Returns when ``stop`` is set.

        As Lambda's pollers: a stream is read again at once while records wait (a backlog is
        handled batch after batch), else after :data:`STREAM_POLL_SECONDS` (Lambda reads a
        shard four times a second); a queue is received from again at once after a full batch,
        else after ``interval``. Records that arrive meanwhile make one batch, not one
        invocation (and three stream calls, or a receive and a delete) each. A queue consumer
        defers to busy routes for up to :data:`QUEUE_DEFER_MAX_S` (:meth:`_defer_to_routes`)."""
        client = self._streams_client()
        loops: list[tuple[str, Callable[[], int], Callable[[int], bool], float]] = [
            (
                f"stream→{s.function}",
                lambda s=s: self.pump_stream(s, client),  # type: ignore[misc]
                lambda moved, s=s: bool(s.pending) or s.seen is None,  # type: ignore[misc]
                STREAM_POLL_SECONDS,
            )
            for s in self.streams
        ]
        loops += [
            (
                f"{q}→{f}",
                lambda q=q, f=f: self._pump_after_routes(q, f, stop),  # type: ignore[misc]
                lambda moved, q=q: moved >= self._batch_size(q),  # type: ignore[misc]
                interval,
            )
            for q, f in self.queue_consumers
        ]
        loops.append(("schedules", self.run_schedules, lambda moved: False, interval))
        threads = [
            threading.Thread(
                target=self._loop, args=(work, more, stop, interval, settle), name=name, daemon=True
            )
            for name, work, more, settle in loops
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _batch_size(self, queue: str) -> int:
        source = self.queue_settings.get(queue)
        return min(source.batch_size if source else 10, 10)

    @staticmethod
    def _loop(
        work: Callable[[], int],
        more: Callable[[int], bool],
        stop: threading.Event,
        interval: float,
        settle: float,
    ) -> None:
        while not stop.is_set():
            try:
                moved = work()
            except Exception as exc:  # keep the local bus alive; the error is printed
                print(f"worker error: {exc!r}")
                moved = 0
            if moved and more(moved):
                continue  # more is waiting: the next batch at once
            stop.wait(min(settle, interval) if not moved else settle)

    # -- inspection (local only) ----------------------------------------------------------------
    def queue_messages(self, queue: str) -> list[dict[str, Any]]:
        """The bodies waiting in a queue, read without receiving them (moto's own state)."""
        from moto.sqs.models import sqs_backends  # noqa: PLC0415 - moto stays off this module's import (see start)

        backend = sqs_backends[ACCOUNT][REGION]
        q = backend.queues.get(queue)
        if q is None:
            return []
        return [json.loads(m.body) for m in q._messages]


def _moto_shard(arn: str) -> tuple[Any, int] | None:
    """moto's stream shard behind ``arn`` and its record count (``None``: not known here, so
    the stream is read). The object itself, not its id: a table moto replaced has a new one."""
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - see LocalBus.start

    table_name = arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
    with AWS_LOCK:
        table = dynamodb_backends[ACCOUNT][REGION].tables.get(table_name)
        shard = getattr(table, "stream_shard", None)
        return None if shard is None else (shard, len(shard.items))


def _has_visible(queue: str) -> bool:
    """Whether ``queue`` holds a message a receive would return now (moto's own test); an
    unknown queue says yes, so the call is made and answers as SQS does."""
    from moto.sqs.models import sqs_backends  # noqa: PLC0415 - see LocalBus.start

    with AWS_LOCK:
        found = sqs_backends[ACCOUNT][REGION].queues.get(queue)
        if found is None:
            return True
        return any(m.visible and not m.delayed for m in found._messages)


def _failures(result: Any) -> set[str]:
    """The items a ``ReportBatchItemFailures`` answer names as failed."""
    if not isinstance(result, dict):
        return set()
    return {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}


def _sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


def _scheduler_event(function: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "region": REGION,
        "resources": [f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{function}"],
        "detail": {},
    }


def _json(status: int, body: Any) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def _http_result(result: dict[str, Any]) -> HttpResponse:
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(values)
    if result.get("cookies"):
        headers["Set-Cookie"] = result["cookies"][0]
    return HttpResponse(int(result.get("statusCode", 200)), headers, data)

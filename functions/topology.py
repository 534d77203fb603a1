"""The shape of the bus in one place: functions, their routes and their event sources.

The local bus (``citizenbus serve``) and the CDK app both read this module and the service
catalog, so the same routes and agency rules exist on one machine and in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Auth = Literal["none", "jwt", "agency"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /app/v1/requests/{reference}
    auth: Auth = "none"


@dataclass(frozen=True)
class Function:
    name: str
    handler: str  # module:function
    routes: tuple[Route, ...] = ()
    stream: str | None = None  # a table whose stream feeds the function
    queues: tuple[str, ...] = ()  # SQS queues that feed the function ("{agency}" per agency)
    schedule_minutes: int | None = None
    uses_twilio: bool = False
    tables: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # What the function reaches beyond its tables and event sources, for its IAM role in AWS
    # (the vocabulary is in infra/cdk/constants.py PERMISSIONS), e.g. "events:put".
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str  # logical name; the env variable is f"{NAME}_TABLE"
    key: str
    sort_key: str | None = None
    stream: bool = False
    ttl: str | None = None
    indexes: tuple[tuple[str, str, str | None], ...] = ()  # (index name, hash key, range key)


TABLES: tuple[Table, ...] = (
    Table(
        "requests",
        key="reference",
        ttl="expires_at",
        indexes=(("by-citizen", "citizen", "submitted_at"),),
    ),
    Table("outbox", key="id", stream=True, ttl="expires_at"),
    Table("idempotency", key="id", ttl="expiration"),
)

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "health",
        "functions.health.handler.lambda_handler",
        routes=(Route("GET", "/healthz"),),
    ),
    Function(
        "app_api",
        "functions.app_api.handler.lambda_handler",
        routes=(
            Route("POST", "/app/v1/requests", "jwt"),
            Route("GET", "/app/v1/requests", "jwt"),
            Route("GET", "/app/v1/requests/{reference}", "jwt"),
        ),
        tables=("requests", "outbox", "idempotency"),
    ),
    Function(
        "eservice",
        "functions.eservice.handler.lambda_handler",
        routes=(Route("POST", "/eservice/v1/forms/{service_code}"),),
        tables=("requests", "outbox", "idempotency"),
    ),
    Function(
        "outbox_publisher",
        "functions.outbox_publisher.handler.lambda_handler",
        stream="outbox",
        permissions=("events:put",),
    ),
)


def function(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)

"""The shape of the bus in one place: functions, their routes and their event sources.

The local bus (``citizenbus serve``) and the CDK app both read this module and the service
catalog, so the same routes and agency rules exist on one machine and in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from schemas.event_types import EVENT_TYPES

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
    subscribes: tuple[str, ...] = ()  # event types: a rule on the bus feeds the function's queue
    schedule_minutes: int | None = None
    uses_twilio: bool = False
    tables: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    buckets: tuple[str, ...] = ()  # S3 buckets the function writes/reads (see BUCKETS)
    # What the function reaches beyond its tables, buckets and event sources, for its IAM role
    # in AWS (the vocabulary is infra/cdk/functions_construct.py PERMISSIONS), e.g. "events:put".
    permissions: tuple[str, ...] = ()
    # AWS only: Lambda reserved concurrency, where it protects a dependency (an agency's
    # endpoint, Twilio's API rate), not as a quota grab; None shares the account's pool.
    # An environment may turn reservations off (infra/cdk/constants.py EnvSettings).
    reserved_concurrency: int | None = None
    # AWS only, deadline day (``-c deadline_day=true``, see DEADLINE_DAY_THROTTLES): the
    # reservation for the day where the capacity model (`make capacity`) needs more.
    deadline_day_reserved_concurrency: int | None = None
    # AWS only: a citizen waits on its answer (a text, a call, the app, a web form), so its
    # cold starts are restored from a Lambda SnapStart snapshot of a published version, which
    # the HTTP API invokes through the ``live`` alias. An environment may turn SnapStart off
    # (infra/cdk/constants.py EnvSettings); docs/performance.md has its cost.
    snap_start: bool = False


# AWS only: the HTTP API stage throttles each route by its class (rate per second, burst), so
# a flood on one kind of route cannot starve the others: Twilio's webhooks (a citizen's text or
# call in progress) and the agencies' API keep their own budgets whatever the public routes
# get; the status look-up (guessable references) gets the smallest.
THROTTLES: dict[str, tuple[int, int]] = {
    "twilio": (50, 100),
    "agency": (25, 50),
    "citizen": (50, 100),
    "open311": (20, 40),
    "lookup": (5, 10),
}


# AWS only, deadline day: ``cdk deploy -c deadline_day=true`` (docs/operations.md, "Before a
# deadline day") deploys the figures `make capacity` (bench/capacity.py) needs at the default
# profile's peak (1,000 filings/s): the filing routes' classes at 1.5x their demand (citizen:
# app 500/s + e-service 300/s; twilio: SMS 200/s), burst twice the rate; the classes not
# named keep THROTTLES. Deploying without the flag returns to THROTTLES.
DEADLINE_DAY_THROTTLES: dict[str, tuple[int, int]] = {
    "citizen": (750, 1500),
    "twilio": (300, 600),
}
# ... and DynamoDB warm throughput (read units/s, write units/s) where the model finds a new
# on-demand table's 4,000 WRU/s short: idempotency takes ~6,200 WRU/s at the peak (2x it).
# AWS never lowers warm throughput: the table stays warm after the day (a one-time charge).
DEADLINE_DAY_WARM_THROUGHPUT: dict[str, tuple[int, int]] = {
    # make capacity (2026-11-30 15:25 bench): the SMS route's kept replies and the notifier's
    # one transaction per confirmation write here (transactional writes cost twice)
    "idempotency": (12_000, 15_000),
    "citizens": (12_000, 9_400),
}


def throttle_class(route: Route) -> str:
    """The throttle class of ``route`` (a key of ``THROTTLES``), from its path."""
    if route.path.startswith("/channels/"):
        return "twilio"
    if route.path.startswith("/agency/"):
        return "agency"
    if route.path.startswith(("/open311/", "/open-data")):
        return "open311"
    if route.method == "POST" and route.path.rstrip("/").endswith("/status"):
        return "lookup"
    return "citizen"


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
        indexes=(
            ("by-citizen", "citizen", "submitted_at"),
            # Open311 GET requests and the open-data aggregates: by service, and by month
            ("by-service", "service_code", "submitted_at"),
            ("by-month", "submitted_month", "submitted_at"),
            # The deadline index: open requests not yet flagged late, by expected date
            ("by-due", "due", "expected_at"),
            # Erasure: requests that hold a contact the citizen id does not derive from (the
            # e-mail given with a phone number), by its keyed hash (``contact_key``, a cit_ id)
            ("by-contact-key", "contact_key", None),
            # Me too: open requests of a service at a place (sparse: ``place_key`` is set only
            # for services with a duplicate window), by submission time
            ("by-place", "place_key", "submitted_at"),
        ),
    ),
    # Erasure: the waiting entries of a request, by reference (``subject``)
    Table(
        "outbox",
        key="id",
        stream=True,
        ttl="expires_at",
        indexes=(("by-subject", "subject", None),),
    ),
    # Erasure: intake's message-id items of a citizen (``citizen``)
    Table("idempotency", key="id", ttl="expiration", indexes=(("by-citizen", "citizen", None),)),
    # Agencies (issue 4): one webhook subscription per agency, and the audit log of reads.
    Table("subscriptions", key="agency"),
    Table("agency_audit", key="agency", sort_key="entry"),
    # Consent ledger, preferences, SMS conversations, call state, SMS delivery statuses.
    # Erasure: the message records naming a citizen (``citizen``; other items have none)
    Table(
        "citizens",
        key="pk",
        sort_key="sk",
        ttl="expires_at",
        indexes=(("by-citizen", "citizen", None),),
    ),
    # The citizens' verdicts (issue 18): one item per request asked, without personal data
    # (reference, service, agency, channel, month, score; never a citizen id). The open-data
    # figures read them by the month the question was asked.
    Table("verdicts", key="reference", indexes=(("by-month", "month", "asked_at"),)),
)


@dataclass(frozen=True)
class Bucket:
    name: str  # logical name; the env variable is f"{NAME}_BUCKET" (dashes as underscores)


BUCKETS: tuple[Bucket, ...] = (Bucket("open-data"),)

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "health",
        "functions.health.handler.lambda_handler",
        routes=(Route("GET", "/healthz"),),
    ),
    Function(
        "app_api",
        "functions.app_api.handler.lambda_handler",
        snap_start=True,
        routes=(
            Route("POST", "/app/v1/requests", "jwt"),
            Route("GET", "/app/v1/requests", "jwt"),
            Route("GET", "/app/v1/requests/{reference}", "jwt"),
            # After resolution (issue 18): reopen, and the verdict (an extension)
            Route("POST", "/app/v1/requests/{reference}/reopen", "jwt"),
            Route("POST", "/app/v1/requests/{reference}/verdict", "jwt"),
            Route("PUT", "/app/v1/me/preferences", "jwt"),
            # Linked contacts (one-time codes) and what the app knows of the citizen
            Route("GET", "/app/v1/me", "jwt"),
            Route("POST", "/app/v1/me/contacts", "jwt"),
            Route("POST", "/app/v1/me/contacts/verify", "jwt"),
            Route("DELETE", "/app/v1/me/contacts/{kind}", "jwt"),
        ),
        tables=("requests", "outbox", "idempotency", "citizens", "verdicts"),
        permissions=("sqs:send:citizenbus-notifier",),  # a linked contact's one-time code
    ),
    Function(
        "eservice",
        "functions.eservice.handler.lambda_handler",
        snap_start=True,
        routes=(Route("POST", "/eservice/v1/forms/{service_code}"),),
        # citizens: a duplicate's filer follows the open request (me too)
        tables=("requests", "outbox", "idempotency", "citizens"),
    ),
    Function(
        "web",
        "functions.web.handler.lambda_handler",
        snap_start=True,
        routes=(
            Route("GET", "/"),
            Route("GET", "/forms/{service_code}"),
            Route("GET", "/receipt/{reference}"),
            Route("GET", "/status"),
            Route("POST", "/status"),
            # The look-up's one-time code, and the button behind an e-mail's confirmation link
            Route("POST", "/status/code"),
            Route("GET", "/confirm/{token}"),
            Route("POST", "/confirm/{token}"),
            # Reopening after the look-up's code, and the e-mail verdict's one-tap links
            Route("POST", "/status/reopen"),
            Route("GET", "/verdict/{token}"),
            # The same pages in every other language (a language pack's code: /en, /fi, /ar)
            Route("GET", "/{lang}"),
            Route("GET", "/{lang}/forms/{service_code}"),
            Route("GET", "/{lang}/receipt/{reference}"),
            Route("GET", "/{lang}/status"),
            Route("POST", "/{lang}/status"),
            Route("POST", "/{lang}/status/code"),
            Route("GET", "/{lang}/confirm/{token}"),
            Route("POST", "/{lang}/confirm/{token}"),
            Route("POST", "/{lang}/status/reopen"),
            Route("GET", "/{lang}/verdict/{token}"),
            Route("GET", "/static/{name}"),
        ),
        # citizens: confirmations and codes; idempotency: the look-up's rate counters;
        # outbox: a reopened request's event; verdicts: the e-mail links' answers
        tables=("requests", "outbox", "citizens", "idempotency", "verdicts"),
        permissions=("sqs:send:citizenbus-notifier",),  # the look-up's one-time code
    ),
    Function(
        "outbox_publisher",
        "functions.outbox_publisher.handler.lambda_handler",
        stream="outbox",
        permissions=("events:put",),
    ),
    # Agencies (issue 4)
    Function(
        "agency_api",
        "functions.agency_api.handler.lambda_handler",
        routes=(
            Route("PUT", "/agency/v1/subscriptions", "agency"),
            Route("GET", "/agency/v1/requests/{reference}", "agency"),
            Route("POST", "/agency/v1/requests/{reference}/status", "agency"),
        ),
        tables=("requests", "outbox", "subscriptions", "agency_audit", "idempotency"),
        permissions=("kms:webhook-secrets:encrypt",),  # subscriptions' signing secrets
    ),
    Function(
        "agency_authorizer",
        "functions.agency_authorizer.handler.lambda_handler",
    ),
    Function(
        "webhook_delivery",
        "functions.webhook_delivery.handler.lambda_handler",
        queues=("citizenbus-delivery-{agency}",),
        tables=("subscriptions", "idempotency"),
        permissions=("kms:webhook-secrets:decrypt",),  # subscriptions' signing secrets
        reserved_concurrency=10,  # protects the agencies' endpoints
    ),
    Function(
        "redrive",
        "functions.redrive.handler.lambda_handler",
        tables=("outbox",),  # the entries the outbox stream's on-failure pointers name
        # secret:pseudonym: it carries the requests store, whose filing derives contact keys
        # (never called on the redrive path, but a role must cover what the code can read)
        permissions=("sqs:redrive", "outbox:redrive", "events:put", "secret:pseudonym"),
    ),
    Function(
        "sms",
        "functions.sms.handler.lambda_handler",
        snap_start=True,
        routes=(Route("POST", "/channels/sms"), Route("POST", "/channels/sms/status")),
        uses_twilio=True,
        tables=("requests", "outbox", "idempotency", "citizens", "verdicts"),
        permissions=("sqs:send:citizenbus-notifier",),  # the e-mail fallback of a failed SMS
        reserved_concurrency=20,  # protects Twilio's API rate
        deadline_day_reserved_concurrency=30,  # ~12 at the peak (make capacity): 2x, rounded up
    ),
    Function(
        "voice",
        "functions.voice.handler.lambda_handler",
        snap_start=True,
        routes=(Route("POST", "/channels/voice"),),
        uses_twilio=True,
        tables=("requests", "outbox", "idempotency", "citizens"),
        reserved_concurrency=20,  # protects Twilio's API rate
    ),
    Function(
        "open311",
        "functions.open311.handler.lambda_handler",
        # API Gateway path variables are whole segments: the handler splits ".json"/".xml".
        routes=(
            Route("GET", "/open311/v2/{resource}"),
            Route("POST", "/open311/v2/{resource}"),
            Route("GET", "/open311/v2/services/{service}"),
            Route("GET", "/open311/v2/requests/{request}"),
            Route("GET", "/open311/v2/tokens/{token}"),
        ),
        # citizens: a duplicate's filer follows the open request (me too)
        tables=("requests", "outbox", "idempotency", "citizens"),
        permissions=("secret:open311-keys",),
    ),
    Function(
        "open_data",
        "functions.open_data.handler.lambda_handler",
        routes=(
            Route("GET", "/open-data/v1/stats.json"),
            Route("GET", "/open-data/v1/stats.csv"),
            Route("GET", "/open-data/v1/journey.csv"),
            Route("GET", "/open-data/v1/bulk/{name}"),
            Route("GET", "/open-data"),
            Route("GET", "/open-data/"),
        ),
        tables=("requests", "verdicts"),  # verdicts: satisfaction in the figures
        buckets=("open-data",),
        # The public page and stats read one file each: no reservation (the stage's per-route
        # throttle below caps them). The 1 was the export's and is there now.
    ),
    Function(
        "open_data_export",
        "functions.open_data.export.lambda_handler",
        reserved_concurrency=1,  # the export must run one at a time (it rewrites the files)
        schedule_minutes=60,
        tables=("requests", "verdicts"),
        buckets=("open-data",),
    ),
)

# The Lambda authorizer of each route auth kind that API Gateway does not provide itself.
AUTHORIZERS: dict[str, str] = {"agency": "agency_authorizer"}


NOTIFY_EVENTS = EVENT_TYPES  # every request event can reach the citizen

FUNCTIONS += (
    Function(
        "notifier",
        "functions.notifier.handler.lambda_handler",
        subscribes=NOTIFY_EVENTS,
        uses_twilio=True,
        tables=("requests", "citizens", "idempotency", "verdicts"),
        permissions=("ses:send", "sns:publish"),
    ),
    Function(
        "sla_monitor",
        "functions.sla_monitor.handler.lambda_handler",
        schedule_minutes=15,
        tables=("requests", "outbox"),
    ),
)


# Erasure (issue 10): invoked by an operator (``citizenbus erase`` or the Lambda console).
FUNCTIONS += (
    Function(
        "erasure",
        "functions.erasure.handler.lambda_handler",
        tables=("requests", "outbox", "citizens", "idempotency"),
    ),
)


def function(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)

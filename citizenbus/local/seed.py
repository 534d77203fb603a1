"""``citizenbus seed``: a year of a synthetic city, filed through intake and the lifecycle.

Two halves. :func:`plan` draws the city from a seed alone (the same seed and end day give the
same filings, byte for byte): per service a seasonal and weekly rhythm (street damage after the
thaw, missed collections after the holidays, tax approvals in the filing season), a channel
mix, times of day, and per request the agency's answer: first response and resolution times
from log-normal distributions scaled to the service's SLA (so some are late), some rejections,
some questions back to the citizen, notes. Contacts are fictional by construction: mobile
numbers only from the range Sweden's regulator (PTS) keeps for fiction, 070-174 06 05 to
070-174 06 99, and e-mail addresses at ``example.org``.

:func:`apply` runs a batch of planned filings inside the local bus (``POST /_local/seed``):
intake's ``file_request`` at the filing's own time, ``change_status`` at each step's time
(the clock is set for the call), and the SLA monitor's ``flag_late_requests`` as it would have
run. Seeded requests are **history**: they are stored exactly as intake and the lifecycle
store them, but their outbox entries are not written (:class:`HistoricalStore`), so a year of
old events does not reach agency queues, webhooks or citizens (nor are they built in full:
:func:`_unannounced`). What happens to a seeded request from now on (an agency's status
change, the SLA monitor) is live and announced. The seeding thread's DynamoDB calls are
answered in process (:class:`DirectDynamo`); docs/performance.md (issue 16, part S) has
where a seeded request's time goes.
"""

from __future__ import annotations

import gc
import json
import math
import random
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from functions.domain.requests.reference import luhn_digit

FICTIONAL_PHONES = tuple(f"+467017406{n:02d}" for n in range(5, 100))  # PTS: for fiction
EMAIL_DOMAIN = "example.org"
CITIZENS = 20_000  # the city's filers (a few file often, most once or twice)
BATCH = 250  # filings per POST /_local/seed

SERVICES = {  # service → share of all filings
    "street-damage": 0.42,
    "missed-waste-collection": 0.36,
    "tax-return-approve": 0.22,
}
CHANNELS = {
    "street-damage": {"app": 30, "eservice": 25, "sms": 25, "voice": 8, "open311": 12},
    "missed-waste-collection": {"sms": 35, "eservice": 30, "app": 20, "voice": 15},
    "tax-return-approve": {"app": 45, "sms": 35, "eservice": 20},
}
WEEKDAY = {  # Monday first
    "street-damage": (1.3, 1.15, 1.05, 1.0, 0.95, 0.6, 0.55),
    "missed-waste-collection": (1.6, 1.4, 1.0, 0.9, 0.9, 0.45, 0.3),
    "tax-return-approve": (1.2, 1.1, 1.05, 1.0, 0.9, 0.6, 0.9),
}
HOURS = (  # filings by hour of day (local time, as UTC here)
    0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 3.0, 4.0, 3.5, 3.0, 2.8,
    3.0, 2.8, 2.6, 2.6, 2.8, 3.0, 3.4, 3.6, 3.0, 2.0, 1.0, 0.5,
)  # fmt: skip
STREETS = (
    "Storgatan", "Kyrkogatan", "Drottninggatan", "Skolgatan", "Ringvägen", "Sjövägen",
    "Björkvägen", "Järnvägsgatan", "Parkgatan", "Industrivägen", "Granvägen", "Torget",
)  # fmt: skip
DAMAGE = (
    "Djupt hål i vägbanan", "Potthål vid övergångsstället", "Trasig kantsten",
    "Sprucken asfalt efter tjälen", "Gropen fylls med vatten", None, None,
)  # fmt: skip
NOTES = {
    "in_progress": ("Ärendet är tilldelat", "Vi tittar på det", "Crew booked", None, None),
    "needs_info": ("Vilken sida av gatan?", "Please confirm the address", "Behöver bild"),
    "resolved": ("Lagat", "Hämtat i dag", "Godkänd", "Fixed", None),
    "rejected": ("Inte kommunens väg", "Hämtning var inte missad", "Koden stämmer inte"),
    "reopened": ("Hålet är kvar", "Fortfarande inte hämtat", "Still there", None),
}
OUTCOMES = {  # service → (rejected share, needs_info share, never answered share)
    "street-damage": (0.07, 0.06, 0.01),
    "missed-waste-collection": (0.05, 0.02, 0.005),
    "tax-return-approve": (0.04, 0.03, 0.002),
}


# -- the rhythm of a year --------------------------------------------------------------------
def _easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m + 114) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def _holidays(year: int) -> list[date]:
    """Days after which waste collections slip: Christmas, New Year, Easter, Midsummer."""
    midsummer = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    easter = _easter(year)
    return [
        date(year, 1, 1),
        date(year, 1, 6),
        easter - timedelta(days=2),
        easter + timedelta(days=1),
        date(year, 5, 1),
        midsummer,
        date(year, 12, 24),
        date(year, 12, 25),
        date(year, 12, 31),
    ]


def _bump(x: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((x - centre) / width) ** 2)


def season(service: str, day: date) -> float:
    """How busy ``service`` is on ``day``, relative to an ordinary day of the year."""
    doy = day.timetuple().tm_yday
    weekly = WEEKDAY[service][day.weekday()]
    if service == "street-damage":  # potholes after the thaw (March–April), a smaller autumn
        level = 0.6 + 3.0 * _bump(doy, 95, 18) + 0.5 * _bump(doy, 320, 20)
    elif service == "missed-waste-collection":  # a week of misses after each holiday
        level = 1.0 + sum(
            2.5 * _bump((day - h).days, 3, 2)
            for h in _holidays(day.year) + _holidays(day.year - 1)
            if 0 <= (day - h).days <= 10
        )
    else:  # tax approvals: the return arrives mid-March, the deadline is 2 May
        level = 0.03 + 4.0 * _bump(doy, 85, 10) + 2.5 * _bump(doy, 118, 6)
    return level * weekly


# -- the plan ----------------------------------------------------------------------------------
def _reference(rng: random.Random) -> str:
    body = str(rng.randrange(10**9, 10**10) // 10)
    return body + luhn_digit(body)


def _pick(rng: random.Random, weights: dict[str, float] | dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _citizen(rng: random.Random) -> int:
    """A filer: some file often (a Zipf-like pool), most rarely."""
    return (
        min(int(rng.paretovariate(1.1)) - 1, CITIZENS - 1)
        if rng.random() < 0.5
        else (rng.randrange(CITIZENS))
    )


def _contact(rng: random.Random, who: int, channel: str) -> dict[str, str]:
    phone = FICTIONAL_PHONES[who % len(FICTIONAL_PHONES)]
    email = f"invanare{who}@{EMAIL_DOMAIN}"
    if channel in ("sms", "voice"):
        return {"phone": phone}
    if channel == "app":
        return {}
    return {"email": email} if rng.random() < 0.7 else {"phone": phone}


def _attributes(rng: random.Random, service: str) -> tuple[dict[str, str], str | None]:
    street = f"{rng.choice(STREETS)} {rng.randint(1, 80)}"
    if service == "tax-return-approve":
        return {"personal_code": f"{rng.randrange(10**8):08d}"}, None
    if service == "street-damage":
        return {"address": street}, rng.choice(DAMAGE)
    return {"address": street}, None


def _steps(
    rng: random.Random, service: str, filed: datetime, sla_days: int
) -> list[tuple[str, datetime, str | None]]:
    """The agency's answers: (status, when, note), in order."""
    rejected, needs_info, silent = OUTCOMES[service]
    roll = rng.random()
    if roll < silent:
        return []
    sla = timedelta(days=sla_days)
    first = filed + sla * rng.lognormvariate(math.log(0.15), 0.8)
    steps = [("in_progress", first, rng.choice(NOTES["in_progress"]))]
    at = first
    if roll < silent + needs_info:
        at += timedelta(hours=rng.lognormvariate(math.log(20), 0.7))
        steps.append(("needs_info", at, rng.choice(NOTES["needs_info"])))
        at += timedelta(hours=rng.lognormvariate(math.log(30), 0.9))
        steps.append(("in_progress", at, None))
    closing = "rejected" if rng.random() < rejected else "resolved"
    # resolution: a median of about 60 % of the SLA, a long tail (about one in ten late)
    done = filed + sla * rng.lognormvariate(math.log(0.6), 0.55)
    at = max(done, at + timedelta(minutes=rng.randint(5, 240)))
    steps.append((closing, at, rng.choice(NOTES[closing])))
    return steps


REOPEN_SHARE = {"street-damage": 0.06, "missed-waste-collection": 0.04}  # of resolved ones
VERDICT_ANSWERED = 0.35  # of the citizens asked (they consented to notifications)


def _reopened(
    rng: random.Random,
    service: str,
    steps: list[tuple[str, datetime, str | None]],
    sla_days: int,
) -> list[tuple[str, datetime, str | None]]:
    """Some resolved requests are reopened by their citizen within days (the problem is still
    there), taken up again and closed: more often when it was closed fast."""
    if not steps or steps[-1][0] != "resolved" or rng.random() >= REOPEN_SHARE.get(service, 0):
        return []
    closed = steps[-1][1]
    again = closed + timedelta(hours=rng.lognormvariate(math.log(40), 0.8))
    if again - closed >= timedelta(days=25):  # inside the catalog's 30-day window
        return []
    taken = again + timedelta(hours=rng.lognormvariate(math.log(10), 0.7))
    done = taken + timedelta(days=sla_days * rng.lognormvariate(math.log(0.3), 0.5))
    return [
        ("reopened", again, rng.choice(NOTES["reopened"])),
        ("in_progress", taken, None),
        ("resolved", done, rng.choice(NOTES["resolved"])),
    ]


def _verdict(
    rng: random.Random,
    filed: datetime,
    steps: list[tuple[str, datetime, str | None]],
    sla_days: int,
    notify_by: str,
    end: datetime,
) -> dict[str, Any] | None:
    """The citizen's answer to the one question after ``resolved`` (only those who chose a
    channel are asked; about a third answer): happier when it was done in time."""
    if notify_by == "none" or not steps or steps[-1][0] != "resolved":
        return None
    if rng.random() >= VERDICT_ANSWERED:
        return None
    asked = next(t for s, t, _ in steps if s == "resolved") + timedelta(minutes=rng.randint(1, 5))
    answered = asked + timedelta(hours=rng.lognormvariate(math.log(3), 1.2))
    if answered >= end or answered - asked >= timedelta(days=13):
        return None
    late = steps[-1][1] - filed > timedelta(days=sla_days)
    reopened = any(s == "reopened" for s, _, _ in steps)
    weights = (20, 25, 25, 18, 12) if late or reopened else (4, 6, 15, 35, 40)
    score = rng.choices((1, 2, 3, 4, 5), weights=weights)[0]
    return {"asked_at": _iso(asked), "answered_at": _iso(answered), "score": score}


def plan(
    requests: int, days: int, seed: int, end: date, sla_days: dict[str, int]
) -> Iterator[dict[str, Any]]:
    """``requests`` filings over the ``days`` days before ``end``, oldest first."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible city, not a secret
    first = end - timedelta(days=days)
    calendar = [first + timedelta(days=i) for i in range(days)]
    weights = {s: [season(s, d) for d in calendar] for s in SERVICES}
    totals = {s: sum(w) for s, w in weights.items()}
    # split the filings between days: each service's share, spread by its rhythm
    per_day = [0.0] * days
    shares = {s: share / totals[s] for s, share in SERVICES.items()}
    for i in range(days):
        per_day[i] = sum(weights[s][i] * shares[s] for s in SERVICES)
    counts = [0] * days
    for i in rng.choices(range(days), weights=per_day, k=requests):
        counts[i] += 1
    hours = range(24)
    moment_end = datetime.combine(end, datetime.min.time(), UTC)
    for i, count in enumerate(counts):
        day = calendar[i]
        service_weights = {s: weights[s][i] * shares[s] for s in SERVICES}
        moments = sorted(
            datetime.combine(day, datetime.min.time(), UTC)
            + timedelta(hours=rng.choices(hours, weights=HOURS)[0], seconds=rng.randrange(3600))
            for _ in range(count)
        )
        for filed in moments:
            service = _pick(rng, service_weights)
            channel = _pick(rng, CHANNELS[service])
            who = _citizen(rng)
            contact = _contact(rng, who, channel)
            attributes, description = _attributes(rng, service)
            wants = rng.random() < 0.55
            notify_by = "none"
            if wants and channel == "app":
                notify_by = "push"
            elif wants and contact:
                notify_by = "sms" if "phone" in contact else "email"
            answers = _steps(rng, service, filed, sla_days[service])
            answers += _reopened(rng, service, answers, sla_days[service])
            steps = [
                {"status": s, "at": _iso(t), **({"note": n} if n else {})}
                for s, t, n in answers
                if t < moment_end
            ]
            verdict = _verdict(rng, filed, answers, sla_days[service], notify_by, moment_end)
            yield {
                "reference": _reference(rng),
                "service_code": service,
                "channel": channel,
                "attributes": attributes,
                "description": description,
                "contact": contact,
                "app_user": f"seed-{who}" if channel == "app" else None,
                "language": "en" if rng.random() < 0.12 else "sv",
                "notify_by": notify_by,
                "consent": notify_by != "none",
                "submitted_at": _iso(filed),
                "steps": steps,
                **({"verdict": verdict} if verdict else {}),
            }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


# -- applying a batch inside the local bus ---------------------------------------------------------
_ACTIONS = {  # the SDK's method → moto's handler method and the API's operation name
    "put_item": "PutItem",
    "delete_item": "DeleteItem",
    "update_item": "UpdateItem",  # with ReturnValues (else the backend: update_item)
    "query": "Query",
    "batch_get_item": "BatchGetItem",
    "batch_write_item": "BatchWriteItem",
}


_PLAIN_UPDATE = {
    "TableName",
    "Key",
    "UpdateExpression",
    "ConditionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
}


class DirectDynamo:
    """The DynamoDB client of the seeding thread, answered by the local bus's moto backend in
    this process: the same tables, checks and errors, without the SDK building and signing an
    HTTP request and moto parsing it back (about ten times cheaper a call). ``GetItem`` and
    ``TransactWriteItems`` go to moto's backend (as its handler does after parsing); the
    calls in ``_ACTIONS`` to moto's own request handler (its validation, paging and answer),
    given the parameters in their wire form; failures are raised as the SDK's own exception
    classes (``client.exceptions.ConditionalCheckFailedException`` and the others, with the
    response the SDK would have parsed). Writes answer without their capacity accounting
    (``ConsumedCapacity``, ``ItemCollectionMetrics``: nothing here reads them). Anything else
    goes through the SDK client."""

    def __init__(self, sdk: Any) -> None:
        from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - inside a started LocalBus

        from citizenbus.local.runtime import ACCOUNT, REGION  # noqa: PLC0415 - as above

        self.backend = dynamodb_backends[ACCOUNT][REGION]
        self.sdk = sdk
        self.exceptions = sdk.exceptions  # the SDK's classes, raised by _failed below

    def _failed(self, exc: Any, operation: str) -> Exception:
        """moto's error as the SDK would raise it from moto's HTTP answer."""
        body = json.loads(exc.description)
        code = str(body.pop("__type", exc.error_type)).rsplit("#", 1)[-1]
        message = body.pop("message", None) or body.pop("Message", "")
        response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": exc.code},
            **body,
        }
        error: Exception = self.sdk.exceptions.from_code(code)(response, operation)
        return error

    def _handled(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        from moto.dynamodb.exceptions import DynamodbException  # noqa: PLC0415 - as above
        from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415 - as above

        from citizenbus.local.runtime import ACCOUNT, REGION  # noqa: PLC0415 - as above

        handler = DynamoHandler()
        handler.body = json.loads(json.dumps(params))  # the wire form, as moto parses it
        handler.current_account, handler.region = ACCOUNT, REGION
        try:
            result = getattr(handler, method)().result
        except DynamodbException as exc:
            raise self._failed(exc, _ACTIONS[method]) from exc
        answer: dict[str, Any] = json.loads(
            json.dumps(result or {}, default=lambda value: value.to_json())
        )
        return answer

    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        item = self.backend.get_item(TableName, Key)
        return {"Item": item.to_json()["Attributes"]} if item is not None else {}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        """moto's transaction; one that writes a single item (a filing or a status change, once
        the seed's store has left out its outbox entry) is that item's own conditional put or
        update, as DynamoDB makes it: all or nothing either way, without the transaction's undo
        journal and second reading of the condition. A failed condition is the transaction's
        cancellation, with its one reason."""
        from moto.dynamodb.exceptions import (  # noqa: PLC0415 - as above
            ConditionalCheckFailed,
            DynamodbException,
        )

        items: list[dict[str, Any]] = json.loads(json.dumps(TransactItems))  # moto changes it
        single: dict[str, Any] = items[0] if len(items) == 1 and len(items[0]) == 1 else {}
        nothing: tuple[str, dict[str, Any]] = ("", {})
        kind, write = next(iter(single.items()), nothing)
        if kind in ("Put", "Update"):
            condition = {
                "condition_expression": write.get("ConditionExpression"),
                "expression_attribute_names": write.get("ExpressionAttributeNames", {}),
                "expression_attribute_values": write.get("ExpressionAttributeValues", {}),
            }
            try:
                if kind == "Put":
                    self.backend.put_item(write["TableName"], write["Item"], **condition)
                else:
                    self.backend.update_item(
                        write["TableName"],
                        write["Key"],
                        update_expression=write["UpdateExpression"],
                        **condition,
                    )
            except ConditionalCheckFailed as exc:
                reason = {"Code": "ConditionalCheckFailed", "Message": exc.message}
                response = {
                    "Error": {"Code": "TransactionCanceledException", "Message": exc.message},
                    "CancellationReasons": [reason],
                }
                raise self.sdk.exceptions.TransactionCanceledException(
                    response, "TransactWriteItems"
                ) from exc
            except DynamodbException as exc:
                raise self._failed(exc, "TransactWriteItems") from exc
            return {}
        try:
            self.backend.transact_write_items(items)
        except DynamodbException as exc:
            raise self._failed(exc, "TransactWriteItems") from exc
        return {}

    def update_item(self, **params: Any) -> dict[str, Any]:
        """moto's backend, as its handler calls it (which also copies and serialises the item
        twice for the answer the seed's stores never ask for); with ``ReturnValues`` or the
        old ``AttributeUpdates``, the handler."""
        from moto.dynamodb.exceptions import DynamodbException  # noqa: PLC0415 - as above

        if params.keys() - _PLAIN_UPDATE or "UpdateExpression" not in params:
            return self._handled("update_item", params)
        wire = json.loads(json.dumps(params))
        try:
            self.backend.update_item(
                wire["TableName"],
                wire["Key"],
                update_expression=wire["UpdateExpression"],
                expression_attribute_names=wire.get("ExpressionAttributeNames", {}),
                expression_attribute_values=wire.get("ExpressionAttributeValues", {}),
                condition_expression=wire.get("ConditionExpression"),
            )
        except DynamodbException as exc:
            raise self._failed(exc, "UpdateItem") from exc
        return {}

    def __getattr__(self, name: str) -> Any:
        if name in _ACTIONS:
            return lambda **params: self._handled(name, params)
        return getattr(self.sdk, name)


def _historical_store(client: DirectDynamo) -> Any:
    from functions.domain.requests.store import RequestStore  # noqa: PLC0415 - the bus's environment first

    class HistoricalStore(RequestStore):
        """The requests store, without outbox entries: a seeded past announces nothing."""

        def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
            kept = [i for i in items if i.get("Put", {}).get("TableName") != self.outbox_table]
            reasons = super()._transact(kept)
            if reasons is None:
                return None
            # the reasons in the caller's positions (an outbox put is never the one that fails)
            found = iter(reasons)
            return [
                "None" if i.get("Put", {}).get("TableName") == self.outbox_table else next(found)
                for i in items
            ]

    return HistoricalStore(client)  # type: ignore[arg-type]


@contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    """``module.name`` is ``value`` for this thread only: the bus's other functions run in
    threads of their own meanwhile and must see the real clock and references."""
    saved = getattr(module, name)
    seeding = threading.get_ident()

    def chosen(*args: Any, **kwargs: Any) -> Any:
        return (value if threading.get_ident() == seeding else saved)(*args, **kwargs)

    setattr(module, name, chosen)
    try:
        yield
    finally:
        setattr(module, name, saved)


def _unannounced(event_type: str, record: Any, time: str, **extra: Any) -> dict[str, Any]:
    """What the seeding thread's intake and lifecycle get for an event: its outbox entry is
    left out (:class:`HistoricalStore`), so the event is never built in full (scrubbing its
    free text of personal data was a tenth of the seed's time); the envelope the stores read
    (a follow's count of supporters is its ``data``), unscrubbed, never leaves the thread."""
    data = {"reference": record["reference"], **extra}
    return {
        "id": "",
        "type": event_type,
        "subject": record["reference"],
        "time": time,
        "data": data,
    }


class BadFiling(ValueError):
    """A planned filing that intake or the lifecycle would refuse; nothing was written."""

    def __init__(self, number: int, cause: Exception) -> None:
        super().__init__(f"filing {number}: {type(cause).__name__}")


def _checked(filing: dict[str, Any], catalog: Any) -> tuple[Any, ...]:
    """A planned filing as intake's request, its times and steps (raises when malformed)."""
    from functions.domain.citizens.identity import pseudonym  # noqa: PLC0415 - inside a started LocalBus
    from functions.domain.requests import intake  # noqa: PLC0415 - as above
    from functions.domain.requests.reference import is_valid  # noqa: PLC0415 - as above
    from functions.platform import clock  # noqa: PLC0415 - as above
    from schemas.channels import CHANNELS  # noqa: PLC0415 - as above
    from schemas.lifecycle import Status, can_transition  # noqa: PLC0415 - as above
    from schemas.request import NewRequest  # noqa: PLC0415 - as above

    new = NewRequest.model_validate(
        {
            "service_code": filing["service_code"],
            "attributes": filing["attributes"],
            "description": filing.get("description"),
            "contact": filing.get("contact") or None,
            "notify_by": filing.get("notify_by"),
            "language": filing.get("language", "sv"),
            "consent": bool(filing.get("consent")),
        }
    )
    if filing["channel"] not in CHANNELS or not is_valid(str(filing["reference"])):
        raise ValueError("channel or reference")
    intake.check(new, catalog, filing["channel"])
    steps = [(clock.parse(s["at"]), Status(s["status"]), s.get("note")) for s in filing["steps"]]
    current = Status.RECEIVED
    for _, status, _ in steps:  # the lifecycle would refuse it half-way
        if not can_transition(current, status):
            raise ValueError("steps")
        current = status
    verdict = filing.get("verdict")
    if verdict is not None:  # the citizen's answer: 1-5, asked and answered at known times
        asked, answered = clock.parse(verdict["asked_at"]), clock.parse(verdict["answered_at"])
        if int(verdict["score"]) not in range(1, 6) or answered < asked:
            raise ValueError("verdict")
    app_user = filing.get("app_user")
    citizen = pseudonym("app", str(app_user)) if app_user else None
    return filing, new, clock.parse(filing["submitted_at"]), citizen, steps


YOUNG_THRESHOLD = 20_000  # allocations between young collections while a batch is filed


@contextmanager
def _collecting_as_it_goes() -> Iterator[None]:
    """The garbage collector's young collections every :data:`YOUNG_THRESHOLD` allocations
    while a batch is filed (then the thresholds as they were). Each status change leaves
    moto's parsed expressions behind in reference cycles (a node and its parent), about 320
    objects a request that only the collector frees; with the thresholds a function's init
    sets (200,000: ``functions.platform.gc_init``) a batch's 80,000 were all collected at its
    end in one pass of 140-250 ms, which costs more than collecting them in smaller, warmer
    passes as they appear (CPU of eight batches of 250: 5.3-5.9 s against 5.0-5.2 s)."""
    saved, mine = gc.get_threshold(), (YOUNG_THRESHOLD, 10, 10)
    gc.set_threshold(*mine)
    try:
        yield
    finally:  # unless another thread set them meanwhile (gc_init.resume after a first call)
        if gc.get_threshold() == mine:
            gc.set_threshold(*saved)


def settle() -> None:
    """After a batch: what the bus holds so far leaves the garbage collector's view
    (``gc.freeze``). A city is hundreds of thousands of long-lived objects in moto's tables;
    Python's full collections walk all of them again each time the heap grows by a quarter,
    which cost the seed a third of its time at 10,000 requests and grows with the city. The
    young generations are collected first; frozen objects are still freed when their count
    drops to zero, only a reference cycle among them that dies later stays until the bus
    stops (``LocalBus.stop`` unfreezes; moto's items and the requests' records hold none)."""
    gc.collect(1)
    gc.freeze()


def _flag_late(store: Any, reference: str, due: datetime) -> int:
    """What the SLA monitor did when ``reference`` passed its expected date still open: flag it
    once, with its ``sla_breached`` event (1, or 0 when it was flagged before)."""
    from functions.platform import clock  # noqa: PLC0415 - inside a started LocalBus
    from schemas.event_types import SLA_BREACHED  # noqa: PLC0415 - as above

    record = store.get(reference)
    if record is None or record.get("sla_breached_at"):
        return 0
    at = clock.iso(due)
    return int(store.mark_breached(reference, at, _unannounced(SLA_BREACHED, record, at)))


def _answered(record: Any, filing: dict[str, Any], verdict: dict[str, Any]) -> int:
    """The verdict question asked on the citizen's channel after ``resolved`` and its answer,
    kept as the notifier and the channels keep them (1, or 0 when not kept)."""
    from functions.domain.verdicts import questions  # noqa: PLC0415 - inside a started LocalBus
    from functions.domain.verdicts.store import VerdictStore  # noqa: PLC0415 - as above
    from functions.platform import clock  # noqa: PLC0415 - as above

    if record is None:
        return 0
    via = {"push": "push", "sms": "sms", "email": "email"}.get(filing["notify_by"])
    if via is None or not questions.claim(record, via, now=clock.parse(verdict["asked_at"])):
        return 0
    answered = clock.parse(verdict["answered_at"])
    answered_via = "app" if via == "push" else via
    score = int(verdict["score"])
    when = int(answered.timestamp())
    kept = VerdictStore().answer(
        record["reference"], score, answered_via, verdict["answered_at"], when
    )
    return int(kept)


def apply(filings: list[dict[str, Any]]) -> dict[str, int]:
    """File ``filings`` (from :func:`plan`) as history, inside a started local bus holding its
    lock (the clock is set per call); counts of what was done."""
    from functions.domain.requests import duplicates, intake, lifecycle  # noqa: PLC0415 - inside a started LocalBus
    from functions.domain.requests import reopen as reopen_module  # noqa: PLC0415 - as above
    from functions.domain.requests.lifecycle import (  # noqa: PLC0415 - as above
        change_status,
        flag_late_requests,
    )
    from functions.domain.requests.reference import new_reference  # noqa: PLC0415 - as above
    from functions.domain.requests.reopen import ReopenRefused, reopen  # noqa: PLC0415 - as above
    from functions.platform import aws, clock  # noqa: PLC0415 - as above
    from functions.platform.catalog import get_catalog  # noqa: PLC0415 - as above
    from schemas.lifecycle import CLOSED, Status  # noqa: PLC0415 - as above

    direct = DirectDynamo(aws.dynamodb())
    store = _historical_store(direct)
    counts = {"filed": 0, "followed": 0, "changes": 0, "reopened": 0, "verdicts": 0, "flagged": 0}
    latest: datetime | None = None
    planned: list[str] = []
    moment: list[datetime] = []

    def drawn() -> str:  # the planned reference first; a random one if it is taken
        return planned.pop() if planned else new_reference()

    catalog = get_catalog()
    parsed = []  # everything checked before anything is written
    for number, filing in enumerate(filings):
        try:
            parsed.append(_checked(filing, catalog))
        except Exception as exc:
            raise BadFiling(number, exc) from exc
    with ExitStack() as patches:
        patches.enter_context(_collecting_as_it_goes())
        patches.enter_context(_patched(intake, "new_reference", drawn))
        patches.enter_context(_patched(clock, "now", lambda: moment[-1]))
        # the seeding thread's stores (verdicts, dedup, citizens) use the direct client too
        patches.enter_context(_patched(aws, "dynamodb", lambda: direct))
        for module in (intake, lifecycle, reopen_module, duplicates):  # announced: nothing
            patches.enter_context(_patched(module, "request_event", _unannounced))
        for filing, new, filed_at, citizen, steps in parsed:
            latest = max(latest or filed_at, filed_at)
            planned[:] = [str(filing["reference"])]
            moment.append(filed_at)  # what intake reads of the clock (a follower's time too)
            filed = intake.file_request(
                new, channel=filing["channel"], citizen=citizen, store=store, now=filed_at
            )
            if filed.duplicate:  # me too: the same place, still open; it follows that one
                counts["followed"] += 1
                continue
            counts["filed"] += 1
            reference, agency = filed.record["reference"], filed.record["agency"]
            due: datetime | None = clock.parse(filed.record["expected_at"])
            for at, status, note in steps:
                if due is not None and at > due:  # the SLA monitor saw it open past its date
                    moment.append(due)
                    counts["flagged"] += _flag_late(store, reference, due)
                    due = None
                moment.append(at)
                if status == Status.REOPENED:  # by the citizen, as the channels do it
                    record = store.get(reference)
                    try:
                        if record is None:
                            break
                        changed = reopen(record, filing["channel"], note, store=store)
                    except ReopenRefused:
                        break
                    counts["reopened"] += 1
                    due = clock.parse(changed.record["expected_at"]) if changed.record else None
                else:
                    change_status(agency, reference, status, note=note, store=store)
                    due = None if status in CLOSED else due
                counts["changes"] += 1
            verdict = filing.get("verdict")
            if verdict and Status.RESOLVED in {status for _, status, _ in steps}:
                counts["verdicts"] += _answered(store.get(reference), filing, verdict)
        if latest is not None:  # the SLA monitor, as it would have run by the batch's end
            moment.append(latest)
            while True:
                done = flag_late_requests(latest, store=store)
                counts["flagged"] += done["flagged"]
                if done["flagged"] + done["closed"] < 500:
                    break
    return counts

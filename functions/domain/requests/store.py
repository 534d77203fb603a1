"""The requests and outbox tables (and intake's message ids, in the same transaction).

A request and the event announcing it are written in one DynamoDB transaction together with
the channel's message id, so the store and the bus cannot drift apart and a retried message
cannot file a second request. The outbox table's stream feeds the outbox publisher.
"""

from __future__ import annotations

import heapq
import json
import random
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from functions.domain.citizens.identity import pseudonym
from functions.domain.requests.records import Request
from functions.platform import clock
from functions.platform.dedup_store import DedupStore
from functions.platform.dynamo import Store, from_item, pages, to_item
from functions.platform.errors import THROTTLE_CODES, Throttled
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OUTBOX_TTL_SECONDS = 2 * 24 * 3600
_CONFLICT_RETRIES = 5


class ReferenceTaken(Exception):
    """The randomly drawn reference exists already; draw another."""


class Conflict(Exception):
    """The request changed underneath us (optimistic locking) or the transition is refused."""


class Refused(Exception):
    """A caller's own conditional item (``also``) failed its condition: nothing was written.

    ``index`` is its position in ``also`` (the SMS dialogue's "not opted out" check)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"the transaction's extra item {index} failed its condition")
        self.index = index


class Created(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    reference: str
    created: bool  # False: the channel's message id was seen before; reference is the original
    digest: str | None = None  # the first filing's request digest (None: not recorded)
    follows: bool = False  # the message id was a "me too": reference is the request it follows


def outbox_item(event: dict[str, Any], now: int) -> dict[str, Any]:
    return to_item(
        {
            "id": event["id"],
            "type": event["type"],
            "subject": event["subject"],
            "event": json.dumps(event, separators=(",", ":")),
            "expires_at": now + OUTBOX_TTL_SECONDS,
        }
    )


def months(start: datetime, end: datetime) -> list[str]:
    """The ``YYYY-MM`` partitions from ``end`` back to ``start`` (newest first)."""
    out: list[str] = []
    year, month = end.year, end.month
    while (year, month) >= (start.year, start.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def contact_key(record: Request) -> dict[str, str]:
    """The keyed hash of a contact the request's citizen id does not derive from (the e-mail
    given with a phone number), for erasure's ``by-contact-key`` index: it is the ``cit_`` id
    that contact would have, so erasing that id finds the request without a scan."""
    contact = record.get("contact") or {}
    keys = [pseudonym("phone", str(contact["phone"]))] if contact.get("phone") else []
    keys += [pseudonym("email", str(contact["email"]).lower())] if contact.get("email") else []
    other = [k for k in keys if k != record.get("citizen")]
    return {"contact_key": other[0]} if other else {}


class RequestStore(Store):
    """Requests with their outbox entries and channel message ids."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        settings = get_settings()
        super().__init__(client)
        self.requests_table = settings.requests_table
        self.outbox_table = settings.outbox_table
        self.dedup = DedupStore(client)
        self.dedup_ttl = settings.dedup_ttl_days * 24 * 3600

    def create(
        self,
        record: Request,
        event: dict[str, Any],
        dedup_key: str | None,
        digest: str | None = None,
        also: Sequence[dict[str, Any]] = (),
    ) -> Created:
        """Store a new request, its ``submitted`` event and its message id in one transaction.

        ``also``: more transaction items written with it (the citizen's remembered language).

        ``digest`` (a hash of the normalised request) is kept with the message id, so a later
        use of the same id can tell a retry from a different request. Raises
        :class:`ReferenceTaken` when the reference exists (the caller draws a new one).
        """
        now = int(time.time())
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.requests_table,
                    "Item": to_item(dict(record) | contact_key(record)),
                    "ConditionExpression": "attribute_not_exists(#ref)",
                    "ExpressionAttributeNames": {"#ref": "reference"},
                }
            },
            {"Put": {"TableName": self.outbox_table, "Item": outbox_item(event, now)}},
        ]
        if dedup_key:
            reference = record["reference"]
            kept = {"reference": reference, "citizen": record["citizen"]}
            kept |= {"digest": digest} if digest else {}
            items.append(self.dedup.put_new(dedup_key, self.dedup_ttl, **kept))
        base = len(items)
        items += also  # last: the reasons' indices above stay as they are
        reasons = self._transact(items)
        if reasons is None:
            return Created(record["reference"], created=True)
        if dedup_key and reasons[2] == "ConditionalCheckFailed":
            existing = self.dedup.get(dedup_key)
            if existing:
                first = existing.get("digest")
                return Created(
                    str(existing["reference"]),
                    False,
                    str(first) if first else None,
                    follows=bool(existing.get("follows")),
                )
        if reasons[0] == "ConditionalCheckFailed":
            raise ReferenceTaken(record["reference"])
        _refused(reasons, base)
        raise RuntimeError(f"transaction cancelled: {reasons}")

    def update(
        self,
        reference: str,
        expected_version: int,
        changes: dict[str, Any],
        append_history: dict[str, Any],
        event: dict[str, Any] | None,
        also: tuple[dict[str, Any], ...] = (),
        remove: tuple[str, ...] = (),
    ) -> None:
        """Apply ``changes`` to a request if it is still at ``expected_version``, with its event
        (and ``also``, more transaction items: an idempotency key's answer); ``remove``: the
        attributes it loses (a reopened request its retention expiry and late flag).

        Raises :class:`Conflict` when someone else changed the request first (or ``also``'s
        condition failed).
        """
        now = int(time.time())
        names = {f"#f{i}": k for i, k in enumerate(changes)} | {"#h": "history", "#v": "version"}
        names |= {f"#r{i}": k for i, k in enumerate(remove)}
        values = {f":v{i}": v for i, v in enumerate(changes.values())}
        sets = [f"#f{i} = :v{i}" for i in range(len(changes))]
        sets += ["#h = list_append(#h, :h)", "#v = :next"]
        expr_values = to_item(values) | {
            ":h": {"L": [{"M": to_item(append_history)}]},
            ":next": {"N": str(expected_version + 1)},
            ":expected": {"N": str(expected_version)},
        }
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.requests_table,
                    "Key": {"reference": {"S": reference}},
                    "UpdateExpression": "SET "
                    + ", ".join(sets)
                    + (
                        " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
                        if remove
                        else ""
                    ),
                    "ConditionExpression": "#v = :expected",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": expr_values,
                }
            }
        ]
        if event is not None:
            items.append({"Put": {"TableName": self.outbox_table, "Item": outbox_item(event, now)}})
        items.extend(also)
        reasons = self._transact(items)
        if reasons is not None:
            raise Conflict(reference)

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None on success, else the cancellation reason of each item.

        Conflicts with a concurrent transaction and throttling are retried with jittered
        backoff (botocore retries throttling too; this covers ``TransactionConflict``).
        """
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return None
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = [
                    r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])
                ]
                retryable = {
                    "TransactionConflict",
                    "ThrottlingError",
                    "ProvisionedThroughputExceeded",
                }
                if not retryable.intersection(reasons):
                    return reasons
                if attempt == _CONFLICT_RETRIES - 1:
                    if THROTTLE_CODES.intersection(reasons):
                        raise Throttled(", ".join(reasons)) from exc
                    return reasons
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")

    def overdue(self, now_iso: str, limit: int = 500) -> list[Request]:
        """Requests still marked due whose expected date is before ``now_iso``, oldest first."""
        items: list[Request] = []
        kwargs: dict[str, Any] = {
            "TableName": self.requests_table,
            "IndexName": "by-due",
            "KeyConditionExpression": "#d = :open AND expected_at < :now",
            "ExpressionAttributeNames": {"#d": "due"},
            "ExpressionAttributeValues": {":open": {"S": "open"}, ":now": {"S": now_iso}},
        }
        while len(items) < limit:
            response = self.client.query(**kwargs)
            items += [_request(from_item(i)) for i in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items[:limit]

    def mark_breached(self, reference: str, at: str, event: dict[str, Any]) -> bool:
        """Flag a request late and queue its ``sla_breached`` event, once; False if done before."""
        now = int(time.time())
        reasons = self._transact(
            [
                {
                    "Update": {
                        "TableName": self.requests_table,
                        "Key": {"reference": {"S": reference}},
                        "UpdateExpression": "SET sla_breached_at = :at REMOVE #d",
                        "ConditionExpression": (
                            "attribute_not_exists(sla_breached_at) AND NOT #s IN (:r, :x)"
                        ),
                        "ExpressionAttributeNames": {"#d": "due", "#s": "status"},
                        "ExpressionAttributeValues": {
                            ":at": {"S": at},
                            ":r": {"S": "resolved"},
                            ":x": {"S": "rejected"},
                        },
                    }
                },
                {"Put": {"TableName": self.outbox_table, "Item": outbox_item(event, now)}},
            ]
        )
        return reasons is None

    def clear_due(self, reference: str) -> None:
        """A closed request leaves the deadline index."""
        self.client.update_item(
            TableName=self.requests_table,
            Key={"reference": {"S": reference}},
            UpdateExpression="REMOVE #d",
            ExpressionAttributeNames={"#d": "due"},
        )

    # -- me too: open requests at a place, and following one ------------------------------
    def open_at_place(self, place_key: str, since: str) -> Request | None:
        """The oldest request still open with ``place_key`` (service and place) submitted at or
        after ``since``: one query on the sparse ``by-place`` index."""
        items = pages(
            self.client.query,
            TableName=self.requests_table,
            IndexName="by-place",
            KeyConditionExpression="place_key = :p AND submitted_at >= :since",
            FilterExpression="NOT #s IN (:r, :x)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":p": {"S": place_key},
                ":since": {"S": since},
                ":r": {"S": "resolved"},
                ":x": {"S": "rejected"},
            },
        )
        return next((_request(i) for i in items), None)

    def follow(
        self,
        record: Request,
        follower: dict[str, Any],
        event: dict[str, Any],
        also: Sequence[dict[str, Any]] = (),
        dedup: dict[str, Any] | None = None,
    ) -> str:
        """Count one more supporter of ``record`` (if it is still open and its count is still
        ``event``'s count minus one), with the follower item and the ``supported`` event, in one
        transaction. ``follower`` is the citizens table's conditional Put (one follow per
        citizen). Answers ``followed``, ``already`` (this citizen follows it: a retry counts
        nothing), ``changed`` (closed, or someone else counted first: read and try again), or
        ``seen`` (``dedup``, the filing's conditional message-id item, was there: a retry).
        Raises :class:`Refused` when one of the caller's ``also`` items failed its condition.
        """
        count = int(event["data"]["supporters"])
        condition = "NOT #s IN (:r, :x) AND " + (
            "attribute_not_exists(supporters)" if count == 1 else "supporters = :old"
        )
        values = {":n": {"N": str(count)}, ":r": {"S": "resolved"}, ":x": {"S": "rejected"}}
        values |= {":old": {"N": str(count - 1)}} if count > 1 else {}
        items: list[dict[str, Any]] = [
            follower,
            {
                "Update": {
                    "TableName": self.requests_table,
                    "Key": {"reference": {"S": record["reference"]}},
                    "UpdateExpression": "SET supporters = :n",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": values,
                }
            },
            {"Put": {"TableName": self.outbox_table, "Item": outbox_item(event, int(time.time()))}},
            *([dedup] if dedup else []),
            *also,
        ]
        reasons = self._transact(items)
        if reasons is None:
            return "followed"
        if reasons[0] == "ConditionalCheckFailed":
            return "already"
        if reasons[1] == "ConditionalCheckFailed":
            return "changed"
        if dedup and reasons[3] == "ConditionalCheckFailed":
            return "seen"
        _refused(reasons, 4 if dedup else 3)
        raise RuntimeError(f"transaction cancelled: {reasons}")

    def get(self, reference: str) -> Request | None:
        item = self.client.get_item(
            TableName=self.requests_table, Key={"reference": {"S": reference}}, ConsistentRead=True
        ).get("Item")
        return _request(from_item(item)) if item else None

    def list_by_citizen(self, citizen: str, limit: int = 100) -> list[Request]:
        """A citizen's requests, newest first."""
        response = self.client.query(
            TableName=self.requests_table,
            IndexName="by-citizen",
            KeyConditionExpression="citizen = :c",
            ExpressionAttributeValues={":c": {"S": citizen}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_request(from_item(i)) for i in response.get("Items", [])]

    # -- outbox redrive ------------------------------------------------------------------
    def outbox_event(self, entry_id: str) -> dict[str, Any] | None:
        """The CloudEvent of an outbox entry, or None (expired after two days, or erased)."""
        item = self.client.get_item(
            TableName=self.outbox_table, Key={"id": {"S": entry_id}}, ConsistentRead=True
        ).get("Item")
        return json.loads(item["event"]["S"]) if item else None

    def outbox_events_written_between(self, start: float, end: float) -> list[dict[str, Any]]:
        """The CloudEvents of the outbox entries written between two epoch times (a scan of
        the two days the outbox keeps; for when the stream no longer holds the records)."""
        low, high = int(start) + OUTBOX_TTL_SECONDS, int(end) + 1 + OUTBOX_TTL_SECONDS
        items = pages(
            self.client.scan,
            TableName=self.outbox_table,
            FilterExpression="expires_at BETWEEN :low AND :high",
            ExpressionAttributeValues={":low": {"N": str(low)}, ":high": {"N": str(high)}},
        )
        return [json.loads(item["event"]) for item in items]

    # -- erasure -------------------------------------------------------------------------
    def all_of_citizen(self, citizen: str) -> Iterator[Request]:
        """Every request of a citizen id (all pages)."""
        yield from _requests(
            pages(
                self.client.query,
                TableName=self.requests_table,
                IndexName="by-citizen",
                KeyConditionExpression="citizen = :c",
                ExpressionAttributeValues={":c": {"S": citizen}},
            )
        )

    def holding_contact_of(self, citizen: str) -> Iterator[Request]:
        """Every request of someone else that holds the contact ``citizen`` derives from (the
        ``by-contact-key`` index: no scan)."""
        yield from _requests(
            pages(
                self.client.query,
                TableName=self.requests_table,
                IndexName="by-contact-key",
                KeyConditionExpression="contact_key = :c",
                ExpressionAttributeValues={":c": {"S": citizen}},
            )
        )

    def anonymise(
        self,
        reference: str,
        citizen: str,
        attributes: dict[str, Any],
        history: list[dict[str, Any]],
        at: str,
    ) -> None:
        """Keep what open data counts; drop contact details, personal attributes and free text."""
        values = {
            ":erased": citizen,
            ":none": "none",
            ":no": False,
            ":history": history,
            ":attributes": attributes,
            ":at": at,
        }
        self.client.update_item(
            TableName=self.requests_table,
            Key={"reference": {"S": reference}},
            UpdateExpression=(
                "SET citizen = :erased, notify_by = :none, consent = :no, history = :history,"
                " attributes = :attributes, erased_at = :at"
                " REMOVE contact, personal, description, contact_key"
            ),
            ExpressionAttributeValues=to_item(values),
        )

    def drop_contact(self, reference: str, kind: str, notify_by: str | None) -> None:
        """Remove one contact (``phone`` or ``email``) of another citizen's request, and only
        that: the request, its citizen link and its other contact stay. Notifications that
        went to the removed contact stop (``notify_by`` becomes ``none``)."""
        key = {"reference": {"S": reference}}
        names = {"#kind": kind}
        if notify_by == kind:
            self.client.update_item(
                TableName=self.requests_table,
                Key=key,
                UpdateExpression="REMOVE contact.#kind, contact_key SET notify_by = :none",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":none": {"S": "none"}},
            )
        else:
            self.client.update_item(
                TableName=self.requests_table,
                Key=key,
                UpdateExpression="REMOVE contact.#kind, contact_key",
                ExpressionAttributeNames=names,
            )

    def waiting_events(self, reference: str) -> list[str]:
        """The ids of a request's outbox entries still waiting (the ``by-subject`` index)."""
        return [
            str(item["id"])
            for item in pages(
                self.client.query,
                TableName=self.outbox_table,
                IndexName="by-subject",
                KeyConditionExpression="subject = :s",
                ExpressionAttributeValues={":s": {"S": reference}},
                ProjectionExpression="id",
            )
        ]

    def delete_events(self, ids: Iterable[str]) -> None:
        for event_id in ids:
            self.client.delete_item(TableName=self.outbox_table, Key={"id": {"S": event_id}})

    # -- open data: requests in a time window -----------------------------------------------
    def _window_query(
        self,
        index: str,
        key: str,
        value: str,
        start: str,
        end: str,
        statuses: Iterable[str],
        fields: Sequence[str] = (),
        limit: int | None = None,
    ) -> Iterator[Request]:
        wanted = sorted(set(statuses))
        args: dict[str, Any] = {
            "TableName": self.requests_table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :k AND submitted_at BETWEEN :start AND :end",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {
                ":k": {"S": value},
                ":start": {"S": start},
                ":end": {"S": end},
            },
            "ScanIndexForward": False,
        }
        if wanted:
            args["FilterExpression"] = "#s IN (" + ", ".join(f":s{i}" for i in range(len(wanted)))
            args["FilterExpression"] += ")"
            args["ExpressionAttributeNames"]["#s"] = "status"
            args["ExpressionAttributeValues"] |= {f":s{i}": {"S": s} for i, s in enumerate(wanted)}
        if fields:
            args["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(fields)))
            args["ExpressionAttributeNames"] |= {f"#p{i}": f for i, f in enumerate(fields)}
        if limit:
            args["Limit"] = limit
        while True:
            response = self.client.query(**args)
            for item in response.get("Items", []):
                yield _request(from_item(item))
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            args["ExclusiveStartKey"] = last

    def submitted_between(
        self,
        start: datetime,
        end: datetime,
        service_codes: Iterable[str] = (),
        statuses: Iterable[str] = (),
        fields: Sequence[str] = (),
        limit: int | None = None,
        skip_months: Collection[str] = (),
    ) -> Iterator[Request]:
        """Requests submitted in ``[start, end]``, newest first, lazily read.

        The ``by-month`` and ``by-service`` indexes are sorted by ``submitted_at``; a window is
        read newest first, one month (or service) partition after another, so a page never
        reads more than it skips plus what it returns. ``fields``: only these attributes of
        each (a projection; ``submitted_at`` is added when reading by service, to merge the
        services' streams). ``limit``: how many a query evaluates at most (the caller's need;
        more queries follow only if it reads on). ``skip_months``: ``YYYY-MM`` partitions the
        caller knows hold nothing in the window (not queried).
        """
        lo, hi = clock.iso(start), clock.iso(end)
        statuses = tuple(statuses)
        codes = sorted(set(service_codes))
        if codes:
            if fields and "submitted_at" not in fields:
                fields = (*fields, "submitted_at")
            streams = [
                self._window_query("by-service", "service_code", c, lo, hi, statuses, fields, limit)
                for c in codes
            ]
            yield from heapq.merge(*streams, key=lambda r: r["submitted_at"], reverse=True)
            return
        for month in months(start, end):
            if month in skip_months:
                continue
            yield from self._window_query(
                "by-month", "submitted_month", month, lo, hi, statuses, fields, limit
            )

    def get_many(self, references: Sequence[str]) -> dict[str, Request]:
        """The stored requests of ``references`` (absent ones are left out), 100 per
        ``BatchGetItem``; keys DynamoDB leaves unprocessed are asked again with backoff."""
        found: dict[str, Request] = {}
        for first in range(0, len(references), 100):
            keys = [{"reference": {"S": r}} for r in references[first : first + 100]]
            wanted: dict[str, Any] = {self.requests_table: {"Keys": keys}}
            for attempt in range(_CONFLICT_RETRIES + 3):
                response = self.client.batch_get_item(RequestItems=wanted)
                for item in response.get("Responses", {}).get(self.requests_table, []):
                    record = _request(from_item(item))
                    found[record["reference"]] = record
                wanted = dict(response.get("UnprocessedKeys") or {})
                if not wanted:
                    break
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter
            else:
                raise Throttled("BatchGetItem: keys left unprocessed")
        return found


def _refused(reasons: list[str], base: int) -> None:
    """Raise :class:`Refused` for the first of the caller's items (from ``base``) that failed."""
    for index, reason in enumerate(reasons[base:]):
        if reason == "ConditionalCheckFailed":
            raise Refused(index)


def _request(item: dict[str, Any]) -> Request:
    """A stored item as the typed record (the table holds only what intake wrote)."""
    return cast("Request", item)


def _requests(items: Iterator[dict[str, Any]]) -> Iterator[Request]:
    return (_request(i) for i in items)

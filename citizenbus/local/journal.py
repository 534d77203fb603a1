"""The journal between two snapshots of the kept local bus (``citizenbus serve --data``).

A snapshot of a city of 100,000 requests takes seconds to write, so what changed since the
last one is appended to a journal as it happens: physically, each thing as it is stored after
the change (not a replay of the calls, so generated ids and clocks need no determinism):

- DynamoDB: each item a write touched (``Table.put_item``, ``Table.delete_item`` and the
  backend's ``update_item``, which changes an existing item in place, are wrapped to note its
  key; every item write of moto goes through one of the three, transactions' and batches'
  too, and a write over the AWS port or the seed's direct one as well), read as stored at the
  flush (or its absence), and the stream records appended since the last flush; a table
  created or replaced is written whole.
- SQS: per queue, the messages that are new or changed (received, made visible again) and
  the ones gone (with their receipt handles, so a second delete stays harmless); a queue is
  compared with what was journaled only when something may have changed it (a call on it, an
  event put on the bus, the AWS port) or its counts moved. A new queue is written whole.
- S3: each object a ``PutObject`` / ``CompleteMultipartUpload`` / ``CopyObject`` /
  ``DeleteObject(s)`` named, as stored.
- SES: the messages sent since the last flush (moto's list only grows).
- The bus's own state: stream positions, the records read but not handled, the sequence
  numbers' shards (only those added) and the texts the recording Twilio client accepted (only
  those added).
- EventBridge, KMS and IAM (small): whole, when a call changed them.
- Anything else (a bucket's settings, a queue's attributes, a table's settings, an SES
  identity): the next snapshot is taken at once instead (:attr:`Tracker.compact`). A call
  over the AWS port names nothing: every queue is compared, the small services journaled
  whole; an S3 object written there waits for the next snapshot.

One record per flush: the length, the CRC-32 and the pickled changes, appended and fsynced.
Reading stops at the first record that is cut short or fails its checksum (the write a
``kill -9`` interrupted): what came before it is used.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import pickle
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citizenbus.local.twilio_http import RecordingHttpClient

if TYPE_CHECKING:
    from citizenbus.local.runtime import LocalBus

HEADER = struct.Struct("<4sII")  # magic, payload length, CRC-32 of the payload
MAGIC = b"CBJ1"
NAME = re.compile(r"^journal\.(\d{8})\.bin$")

# Calls of these services that change nothing (beyond the persistence module's READS)
PURE = {
    "kms": {
        "Encrypt",
        "Decrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncrypt",
        "Sign",
        "Verify",
        "GenerateRandom",
        "GenerateMac",
        "VerifyMac",
    },
    "events": {"PutEvents", "TestEventPattern"},  # no archives here: only the targets change
}
WHOLE = ("events", "kms", "iam")  # journaled whole when a call changed them
S3_OBJECT_CALLS = {"PutObject", "CompleteMultipartUpload", "CopyObject", "DeleteObject"}
S3_IN_PROGRESS = {"CreateMultipartUpload", "UploadPart", "UploadPartCopy", "AbortMultipartUpload"}
SES_SENDS = {
    "SendEmail",
    "SendRawEmail",
    "SendBulkEmail",
    "SendTemplatedEmail",
    "SendBulkTemplatedEmail",
}


def journal_name(generation: int) -> str:
    return f"journal.{generation:08d}.bin"


def generations(directory: Path) -> list[int]:
    """The journals in ``directory``, by generation."""
    found = []
    for path in directory.iterdir():
        match = NAME.match(path.name)
        if match:
            found.append(int(match.group(1)))
    return sorted(found)


def frame(payload: bytes) -> bytes:
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def records(path: Path) -> tuple[list[bytes], str | None]:
    """The records of one journal, and why reading stopped early (None: it did not)."""
    data = path.read_bytes()
    found: list[bytes] = []
    at = 0
    while at < len(data):
        if len(data) - at < HEADER.size:
            return found, f"a record header cut short at byte {at}"
        magic, length, crc = HEADER.unpack_from(data, at)
        start, end = at + HEADER.size, at + HEADER.size + length
        if magic != MAGIC:
            return found, f"no record at byte {at}"
        if end > len(data):
            return found, f"a record cut short at byte {at}"
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            return found, f"a record failing its checksum at byte {at}"
        found.append(payload)
        at = end
    return found, None


# -- noticing DynamoDB item writes (moto's model, below the API) ----------------------------------
_TRACKERS: list[Tracker] = []
_ORIGINALS: dict[str, Any] = {}
_PATCH_LOCK = threading.Lock()


def _table_key(table: Any) -> tuple[str, str, str]:
    return (table.account_id, table.region_name, table.name)


def _put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
    item = _ORIGINALS["put_item"](self, *args, **kwargs)
    for tracker in _TRACKERS:
        tracker.touch(self, item.hash_key, item.range_key)
    return item


def _delete_item(self: Any, hash_key: Any, range_key: Any = None) -> Any:
    item = _ORIGINALS["delete_item"](self, hash_key, range_key)
    for tracker in _TRACKERS:
        tracker.touch(self, hash_key, range_key)
    return item


def _update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """``UpdateItem`` changes an item that exists in place (no ``put_item``): its key noted
    too, also when the update failed part way."""
    try:
        return _ORIGINALS["update_item"](self, table_name, key, *args, **kwargs)
    finally:
        if _TRACKERS:
            try:
                table = self.get_table(table_name)
                hash_key, range_key = self.get_keys_value(table, key)
            except Exception:  # noqa: S110 - no such table or key: nothing was changed
                pass
            else:
                for tracker in _TRACKERS:
                    tracker.touch(table, hash_key, range_key)


def _patched() -> list[tuple[Any, str, Callable[..., Any]]]:
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - moto with a kept bus
    from moto.dynamodb.models.table import Table  # noqa: PLC0415 - as above

    return [
        (Table, "put_item", _put_item),
        (Table, "delete_item", _delete_item),
        (DynamoDBBackend, "update_item", _update_item),
    ]


def _install(tracker: Tracker) -> None:
    with _PATCH_LOCK:
        for owner, name, wrapper in _patched():
            if vars(owner).get(name) is not wrapper:  # wraps whatever is there (fastmoto's)
                _ORIGINALS[name] = getattr(owner, name)
                setattr(owner, name, wrapper)
        if tracker not in _TRACKERS:
            _TRACKERS.append(tracker)


def _uninstall(tracker: Tracker) -> None:
    with _PATCH_LOCK:
        if tracker in _TRACKERS:
            _TRACKERS.remove(tracker)
        if not _TRACKERS and _ORIGINALS:
            for owner, name, wrapper in _patched():
                if vars(owner).get(name) is wrapper and name in _ORIGINALS:
                    setattr(owner, name, _ORIGINALS[name])
            _ORIGINALS.clear()


def _backends(module: str, name: str) -> dict[str, dict[str, Any]]:
    """moto's backends of one service now in use, by account and region (dict's own items:
    ``BackendDict.__getitem__`` would create them)."""
    import sys  # noqa: PLC0415 - the modules already imported

    loaded = sys.modules.get(module)
    backends = getattr(loaded, name, None) if loaded is not None else None
    if backends is None:
        return {}
    return {account: dict(dict.items(regions)) for account, regions in dict.items(backends)}


def _message_version(message: Any, pending: set[Any]) -> tuple[Any, ...]:
    return (
        id(message),
        message.approximate_receive_count,
        message.visible_at,
        message.delayed_until,
        message in pending,
    )


def _queue_signature(queue: Any) -> tuple[int, ...]:
    return (
        id(queue),
        id(queue._messages),
        len(queue._messages),
        len(queue._pending_messages),
        len(queue.deleted_messages),
    )


# -- what changed, collected at each flush -------------------------------------------------------
class Tracker:
    """What changed since the last flush, and what the journal holds already (to compare)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: dict[tuple[str, str, str], set[tuple[Any, Any]]] = {}
        self.queues: set[str] = set()  # queue names a call named
        self.all_queues = False
        self.objects: set[tuple[str, str]] = set()
        self.whole: set[str] = set()
        self.sent = False
        self.compact = False  # a change the journal cannot name: take a snapshot now
        # what the journal (with the snapshot) holds
        self._tables: dict[tuple[str, str, str], Any] = {}
        self._streams: dict[tuple[str, str, str], tuple[Any, int]] = {}
        self._queues: dict[tuple[str, str, str], tuple[Any, dict[str, tuple[Any, ...]]]] = {}
        self._signatures: dict[tuple[str, str, str], tuple[int, ...]] = {}
        self._messages: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._ses: dict[tuple[str, str], int] = {}
        self._bus: dict[str, Any] = {}
        self._texts = 0

    # -- the hooks ------------------------------------------------------------------------------
    def install(self) -> None:
        _install(self)

    def uninstall(self) -> None:
        _uninstall(self)

    def touch(self, table: Any, hash_key: Any, range_key: Any) -> None:
        with self.lock:
            self.keys.setdefault(_table_key(table), set()).add((hash_key, range_key))

    def call(self, service: str, operation: str, params: dict[str, Any] | None) -> None:
        """A call that may have changed something (botocore's ``after-call``)."""
        params = params or {}
        with self.lock:
            if service == "dynamodb":
                if operation not in {
                    "PutItem",
                    "UpdateItem",
                    "DeleteItem",
                    "BatchWriteItem",
                    "TransactWriteItems",
                    "ExecuteStatement",
                    "BatchExecuteStatement",
                    "ExecuteTransaction",
                }:
                    self.compact = True  # a table's settings (tables made are seen anyway)
            elif service == "sqs":
                url = params.get("QueueUrl") or params.get("QueueName")
                if isinstance(url, str):
                    self.queues.add(url.rstrip("/").rsplit("/", 1)[-1])
                else:
                    self.all_queues = True
                if operation in {
                    "SetQueueAttributes",
                    "TagQueue",
                    "UntagQueue",
                    "AddPermission",
                    "RemovePermission",
                }:
                    self.compact = True
            elif service == "events" and operation == "PutEvents":
                self.all_queues = True  # the rules' targets got messages
            elif service in ("ses", "sesv2"):
                if operation in SES_SENDS:
                    self.sent = True
                else:
                    self.compact = True
            elif service == "s3":
                if operation in S3_OBJECT_CALLS and "Bucket" in params and "Key" in params:
                    self.objects.add((params["Bucket"], params["Key"]))
                elif operation == "DeleteObjects" and "Bucket" in params:
                    for named in (params.get("Delete") or {}).get("Objects", []):
                        self.objects.add((params["Bucket"], named.get("Key", "")))
                elif operation not in S3_IN_PROGRESS:
                    self.compact = True
            elif service in WHOLE:
                if operation not in PURE.get(service, ()):
                    self.whole.add(service)
            elif service not in ("secretsmanager", "dynamodbstreams", "sts"):
                self.compact = True

    def anything(self) -> None:
        """A call the hooks did not see (the AWS port, which says not which): compare every
        queue, journal the small services whole, look for e-mail sent (items are noted by
        moto's model anyway). The rest (a bucket's object, a queue's settings) waits for the
        next snapshot, which the call's activity brings within a minute or so: a consumer
        polling over the port must not cause a snapshot every few seconds."""
        with self.lock:
            self.all_queues = True
            self.whole.update(WHOLE)
            self.sent = True

    # -- what the journal holds now ---------------------------------------------------------
    def baseline(self, bus: LocalBus) -> None:
        """After a restore (or an empty start): everything as it is counts as journaled."""
        with self.lock:
            self.keys.clear()
            self.queues.clear()
            self.objects.clear()
            self.whole.clear()
            self.all_queues = self.sent = False
        self._tables, self._streams = {}, {}
        for account, regions in _backends("moto.dynamodb.models", "dynamodb_backends").items():
            for region, backend in regions.items():
                for name, table in backend.tables.items():
                    key = (account, region, name)
                    self._tables[key] = table
                    shard = table.stream_shard
                    if shard is not None:
                        self._streams[key] = (shard, len(shard.items))
        self._messages, self._signatures = {}, {}
        for account, regions in _backends("moto.sqs.models", "sqs_backends").items():
            for region, backend in regions.items():
                for name, queue in backend.queues.items():
                    key = (account, region, name)
                    self._messages[key] = self._queue_versions(queue)
                    self._signatures[key] = _queue_signature(queue)
        self._ses = {
            (account, region): len(backend.sent_messages)
            for account, regions in _backends("moto.ses.models", "ses_backends").items()
            for region, backend in regions.items()
        }
        self._bus = _bus_known(bus)
        self._texts = _texts(bus)

    @staticmethod
    def _queue_versions(queue: Any) -> dict[str, Any]:
        pending = queue._pending_messages
        return {m.id: (m, _message_version(m, pending)) for m in queue._messages}

    # -- one flush: what changed, as stored now (under the bus's AWS lock) ---------------------
    def collect(self, bus: LocalBus) -> dict[str, Any]:
        with self.lock:
            keys, self.keys = self.keys, {}
            queues, self.queues = self.queues, set()
            all_queues, self.all_queues = self.all_queues, False
            objects, self.objects = self.objects, set()
            whole, self.whole = self.whole, set()
            sent, self.sent = self.sent, False
        delta: dict[str, Any] = {}
        self._collect_dynamodb(keys, delta)
        self._collect_sqs(queues, all_queues, delta)
        if objects:
            self._collect_s3(objects, delta)
        if sent:
            self._collect_ses(delta)
        if whole:
            delta["whole"] = {
                (module, name): _backends(module, name)
                for service in sorted(whole)
                for module, name in [(f"moto.{service}.models", f"{service}_backends")]
                if _backends(module, name)
            }
        known = _bus_known(bus)
        changes = _bus_changes(bus, self._bus, known)
        if changes:
            delta["bus"] = changes
        self._bus = known
        texts = _texts(bus)
        if texts != self._texts and isinstance(getattr(bus, "twilio", None), RecordingHttpClient):
            sent_texts = list(bus.twilio.sent)
            delta["texts"] = (
                (self._texts, sent_texts[self._texts :]) if texts > self._texts else (0, sent_texts)
            )
            self._texts = texts
        return delta

    def _collect_dynamodb(
        self, keys: dict[tuple[str, str, str], set[tuple[Any, Any]]], delta: dict[str, Any]
    ) -> None:
        tables: dict[tuple[str, str, str], Any] = {}
        for account, regions in _backends("moto.dynamodb.models", "dynamodb_backends").items():
            for region, backend in regions.items():
                for name, table in backend.tables.items():
                    tables[(account, region, name)] = table
        made = {k: t for k, t in tables.items() if self._tables.get(k) is not t}
        dropped = [k for k in self._tables if k not in tables]
        if made:
            delta["tables"] = made
        if dropped:
            delta["dropped_tables"] = dropped
        items: dict[tuple[str, str, str], list[tuple[Any, Any, Any]]] = {}
        for key, touched in keys.items():
            table = tables.get(key)
            if table is None or key in made:
                continue
            found = []
            for hash_key, range_key in touched:
                group = table.items.get(hash_key) if hash_key in table.items else None
                if table.range_key_attr is not None:
                    item = group.get(range_key) if group is not None else None
                else:
                    item = group
                found.append((hash_key, range_key, item))
            items[key] = found
        if items:
            delta["items"] = items
        streams: dict[tuple[str, str, str], tuple[int, list[dict[str, Any]]]] = {}
        known: dict[tuple[str, str, str], tuple[Any, int]] = {}
        for key, table in tables.items():
            shard = table.stream_shard
            if shard is None:
                continue
            length = len(shard.items)
            known[key] = (shard, length)
            if key in made:
                continue
            before = self._streams.get(key)
            start = before[1] if before is not None and before[0] is shard else 0
            if start > length:
                start = 0  # shorter than journaled: written again from the start
            if length > start or (before is not None and before[0] is not shard):
                streams[key] = (start, [r.record for r in shard.items[start:length]])
        if streams:
            delta["streams"] = streams
        self._tables, self._streams = tables, known

    def _collect_sqs(self, named: set[str], every: bool, delta: dict[str, Any]) -> None:
        queues: dict[tuple[str, str, str], Any] = {}
        for account, regions in _backends("moto.sqs.models", "sqs_backends").items():
            for region, backend in regions.items():
                for name, queue in backend.queues.items():
                    queues[(account, region, name)] = queue
        made: dict[tuple[str, str, str], Any] = {}
        changed: dict[tuple[str, str, str], tuple[list[tuple[Any, bool]], list[tuple[str, Any]]]]
        changed = {}
        signatures: dict[tuple[str, str, str], tuple[int, ...]] = {}
        for key, queue in queues.items():
            signature = _queue_signature(queue)
            signatures[key] = signature
            before = self._signatures.get(key)
            if before is None or before[0] != signature[0]:
                made[key] = queue
                self._messages[key] = self._queue_versions(queue)
                continue
            if not (every or key[2] in named or before != signature):
                continue
            known = self._messages.get(key, {})
            pending = queue._pending_messages
            now: dict[str, Any] = {}
            upserts: list[tuple[Any, bool]] = []
            for message in queue._messages:
                version = _message_version(message, pending)
                now[message.id] = (message, version)
                was = known.get(message.id)
                if was is None or was[1] != version:
                    upserts.append((message, version[-1]))
            gone = [
                (message_id, [h for h in was[0].all_receipt_handles or () if h])
                for message_id, was in known.items()
                if message_id not in now
            ]
            self._messages[key] = now
            if upserts or gone:
                changed[key] = (upserts, gone)
        dropped = [k for k in self._signatures if k not in queues]
        for key in dropped:
            self._messages.pop(key, None)
        self._signatures = signatures
        if made:
            delta["queues"] = made
        if dropped:
            delta["dropped_queues"] = dropped
        if changed:
            delta["messages"] = changed

    @staticmethod
    def _collect_s3(objects: set[tuple[str, str]], delta: dict[str, Any]) -> None:
        found: list[tuple[str, str, str, Any]] = []
        for account, regions in _backends("moto.s3.models", "s3_backends").items():
            for backend in regions.values():
                for bucket_name, key in sorted(objects):
                    bucket = backend.buckets.get(bucket_name)
                    if bucket is None:
                        continue
                    versions = bucket.keys.getlist(key, None)
                    found.append((account, bucket_name, key, list(versions) if versions else None))
        if found:
            delta["objects"] = found

    def _collect_ses(self, delta: dict[str, Any]) -> None:
        sent: dict[tuple[str, str], tuple[int, list[Any], int]] = {}
        for account, regions in _backends("moto.ses.models", "ses_backends").items():
            for region, backend in regions.items():
                key = (account, region)
                start = self._ses.get(key, 0)
                length = len(backend.sent_messages)
                if start > length:
                    start = 0
                if length != start:
                    sent[key] = (
                        start,
                        backend.sent_messages[start:length],
                        backend.sent_message_count,
                    )
                self._ses[key] = length
        if sent:
            delta["sent"] = sent


# -- the bus's own state ------------------------------------------------------------------------
def _texts(bus: LocalBus) -> int:
    twilio = getattr(bus, "twilio", None)
    return len(twilio.sent) if isinstance(twilio, RecordingHttpClient) else 0


def _bus_known(bus: LocalBus) -> dict[str, Any]:
    return {
        "queue_urls": dict(bus.queue_urls),
        "streams": {
            s.arn: (dict(s.positions), s.pending, s.attempts, len(s.shards)) for s in bus.streams
        },
    }


def _bus_changes(bus: LocalBus, before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if now["queue_urls"] != before.get("queue_urls"):
        changes["queue_urls"] = now["queue_urls"]
    streams: dict[str, Any] = {}
    kept = before.get("streams", {})
    for state in bus.streams:
        positions, pending, attempts, shards = now["streams"][state.arn]
        was = kept.get(state.arn)
        if (
            was is not None
            and was[0] == positions
            and was[1] is pending
            and was[2] == attempts
            and was[3] == shards
        ):
            continue
        start = was[3] if was is not None and was[3] <= shards else 0
        added = list(state.shards.items())[start:]
        streams[state.arn] = {
            "positions": positions,
            "pending": list(pending),
            "attempts": attempts,
            "shards": (start, added),
        }
    if streams:
        changes["streams"] = streams
    return changes


# -- replaying ------------------------------------------------------------------------------------
def apply(delta: dict[str, Any], bus_state: dict[str, Any]) -> None:
    """Put one journal record's changes into moto (and the bus's kept state)."""
    from moto.dynamodb.models.table import StreamRecord  # noqa: PLC0415 - on restore only

    dynamodb = _backends("moto.dynamodb.models", "dynamodb_backends")
    for (account, region, name), table in delta.get("tables", {}).items():
        _backend("moto.dynamodb.models", "dynamodb_backends", account, region).tables[name] = table
        dynamodb = _backends("moto.dynamodb.models", "dynamodb_backends")
    for account, region, name in delta.get("dropped_tables", []):
        dynamodb.get(account, {}).get(region).tables.pop(name, None)  # type: ignore[union-attr]
    for (account, region, name), found in delta.get("items", {}).items():
        table = dynamodb[account][region].tables[name]
        for hash_key, range_key, item in found:
            if table.range_key_attr is not None:
                group = table.items[hash_key]
                if item is None:
                    group.pop(range_key, None)
                    if not group:
                        del table.items[hash_key]
                else:
                    group[range_key] = item
            elif item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
    for (account, region, name), (start, added) in delta.get("streams", {}).items():
        shard = dynamodb[account][region].tables[name].stream_shard
        del shard.items[start:]
        for record in added:
            made: Any = StreamRecord.__new__(StreamRecord)
            made.record = record
            shard.items.append(made)

    for (account, region, name), queue in delta.get("queues", {}).items():
        _backend("moto.sqs.models", "sqs_backends", account, region).queues[name] = queue
    sqs = _backends("moto.sqs.models", "sqs_backends")
    for account, region, name in delta.get("dropped_queues", []):
        sqs.get(account, {}).get(region).queues.pop(name, None)  # type: ignore[union-attr]
    for (account, region, name), (upserts, gone) in delta.get("messages", {}).items():
        queue = sqs[account][region].queues[name]
        removed = {message_id for message_id, _ in gone}
        for _, handles in gone:
            queue.deleted_messages.update(handles)
        replaced = {message.id: (message, in_flight) for message, in_flight in upserts}
        kept = []
        for message in queue._messages:
            if message.id in removed:
                queue._pending_messages.discard(message)
                continue
            new = replaced.pop(message.id, None)
            if new is None:
                kept.append(message)
                continue
            queue._pending_messages.discard(message)
            kept.append(new[0])
            if new[1]:
                queue._pending_messages.add(new[0])
        for message, in_flight in replaced.values():
            kept.append(message)
            if in_flight:
                queue._pending_messages.add(message)
        queue._messages = kept

    if "objects" in delta:
        s3 = _backends("moto.s3.models", "s3_backends")
        for account, bucket_name, key, versions in delta["objects"]:
            for backend in s3.get(account, {}).values():
                bucket = backend.buckets.get(bucket_name)
                if bucket is None:
                    continue
                if versions:
                    bucket.keys.setlist(key, versions)
                else:
                    bucket.keys.pop(key, None)
    ses = _backends("moto.ses.models", "ses_backends")
    for (account, region), (start, added, count) in delta.get("sent", {}).items():
        backend = ses.get(account, {}).get(region) or _backend(
            "moto.ses.models", "ses_backends", account, region
        )
        del backend.sent_messages[start:]
        backend.sent_messages.extend(added)
        backend.sent_message_count = count
    for (module, name), accounts in delta.get("whole", {}).items():
        for account, regions in accounts.items():
            for region, backend in regions.items():
                _put_backend(module, name, account, region, backend)

    changes = delta.get("bus", {})
    if "queue_urls" in changes:
        bus_state["queue_urls"] = dict(changes["queue_urls"])
    streams = bus_state.setdefault("streams", {})
    for arn, state in changes.get("streams", {}).items():
        kept_state = streams.setdefault(arn, {"shards": {}})
        shards = dict(itertools.islice(kept_state.get("shards", {}).items(), state["shards"][0]))
        shards.update(state["shards"][1])
        streams[arn] = {
            "positions": state["positions"],
            "pending": state["pending"],
            "attempts": state["attempts"],
            "shards": shards,
        }
    if "texts" in delta:
        start, added = delta["texts"]
        texts = bus_state.setdefault("texts", [])
        del texts[start:]
        texts.extend(added)


def _backend(module: str, name: str, account: str, region: str) -> Any:
    import importlib  # noqa: PLC0415 - on restore only

    backends = getattr(importlib.import_module(module), name)
    return backends[account][region]


def _put_backend(module: str, name: str, account: str, region: str, backend: Any) -> None:
    import importlib  # noqa: PLC0415 - on restore only

    backends = getattr(importlib.import_module(module), name)
    holder = backends[account]  # registers the BackendDict as in use
    dict.__setitem__(holder, region, backend)


# -- writing ---------------------------------------------------------------------------------------
def dumps(delta: dict[str, Any], table: dict[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.dispatch_table = table
    pickler.dump(delta)
    return buffer.getvalue()


class Writer:
    """Appends framed records to one journal file, fsynced; 0600."""

    def __init__(self, path: Path, on_create: Callable[[], None]) -> None:
        self.path = path
        self._on_create = on_create
        self._fd: int | None = None
        self.bytes = 0

    def append(self, payload: bytes) -> int:
        if self._fd is None:
            existed = self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            if not existed:
                self._on_create()
        data = frame(payload)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self.bytes += len(data)
        return len(data)

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def iterate(directory: Path, since: int) -> Iterator[tuple[int, list[bytes], str | None]]:
    for generation in generations(directory):
        if generation >= since:
            found, torn = records(directory / journal_name(generation))
            yield generation, found, torn

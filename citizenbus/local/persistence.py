"""Keeping the local bus across restarts: ``citizenbus serve --data DIR``.

What the bus holds lives in moto's backends (tables and their streams, queues with their
waiting, in-flight and dead-lettered messages, the event bus and rules, buckets and the open
data exports, the KMS key, the e-mail and push messages sent) and in a little state of the
:class:`~citizenbus.local.runtime.LocalBus` itself: how far each stream was read (and the
records read but not yet handled), the queue URL map and the texts the recording Twilio
client accepted. It is kept as a *snapshot* (all of it pickled in one piece, so references
between services stay references) and a *journal* of what changed after it
(:mod:`citizenbus.local.journal`: each item, message, object as stored after the change).

- Every :data:`FLUSH_SECONDS` a thread reads what changed under the bus lock (the keys moto's
  ``Table.put_item``/``delete_item`` noted, the queues and objects the calls named, the
  stream records and e-mail added) and appends it to ``journal.NNNNNNNN.bin`` as one
  checksummed record, fsynced outside the lock. After ``kill -9`` everything older than that
  interval plus one flush is there.
- A snapshot is compaction: taken when changes went on for :data:`COMPACT_SECONDS`, when they
  stopped for :data:`QUIET_SECONDS`, when the journal passed :data:`COMPACT_BYTES`, at once
  for a change the journal cannot name (a table's or queue's settings, a bucket, an SES
  identity), and at a clean stop; then once more after one with
  changes, so that the previous snapshot kept (and its journals) holds no older state than
  the current one: what was erased is gone from every file.
- Under the bus lock the snapshot collects the last changes (for the journal it closes) and
  forks (POSIX): the child process holds a copy-on-write copy of the whole state and pickles,
  compresses and writes it while the bus goes on answering and the journal goes on in the
  next generation's file. Where there is no ``fork`` the state is pickled under the lock and
  compressed and written outside it.
- The snapshot file is written to a temporary name, fsynced and renamed over
  ``snapshot.bin``; the one before is kept as ``snapshot.prev.bin``. A header line names the
  format, the moto and Python versions, the journal generation it starts, and the payload's
  length and CRC-32. Once written, the journals before the previous snapshot are deleted.
- A start loads ``snapshot.bin`` and replays the journals from its generation on, each up to
  its first record cut short or failing its checksum (the write a kill interrupted). A
  snapshot that does not read back (truncated, corrupt) is moved aside to
  ``snapshot.corrupt.bin`` and the previous one is loaded with its journals (or none: the bus
  starts empty), saying so. One from another moto or Python version is refused with the
  ``--fresh`` hint: moto's internals differ between versions.
- Secrets Manager is not kept: the secrets are created again at every start from the
  environment (the values ``citizenbus serve`` prints). The KMS key is kept, so webhook
  secrets encrypted under it still decrypt.

Measured with a seeded city of 156,585 requests (``python -m bench.persistence --data DIR``;
the figures with their date in docs/performance.md): the journal costs about 4.5 KB and
0.12 ms of CPU a filing (0.35 ms under load), a flush p50 11–13 ms, so after ``kill -9`` all
but the last 0.52–0.66 s is there; a forked snapshot holds the bus lock 86–170 ms and takes
its child 14–21 s (50 MB); a start from it takes 5.7 s on a quiet machine (26.5 s under
load), a journal's replay about 10 MB/s.

The directory holds personal data (contacts, filed texts): it is created 0700 and every file
0600, and only an empty directory or one this module made is used. Snapshots and journals
are pickles: load only a directory you made yourself.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import pickle
import signal
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import moto
from moto.core.base_backend import BackendDict

from citizenbus.local import fastmoto, journal
from citizenbus.local.journal import Tracker
from citizenbus.local.twilio_http import RecordingHttpClient

if TYPE_CHECKING:
    from citizenbus.local.runtime import LocalBus

FORMAT = 2  # 2: the header names the journal generation the snapshot starts
READABLE = (1, 2)  # a format-1 snapshot reads as generation 0 (there were no journals)
MAGIC = b"citizenbus-snapshot "
INTERVAL_SECONDS = 2.0  # how often the snapshot loop looks
FLUSH_SECONDS = 0.5  # how often the journal is appended to and fsynced, when something changed
COMPACT_SECONDS = 60.0  # a snapshot at least this often while changes go on, and at most
COMPACT_SHARE = 10  # ...every ten times the last one's time (its child's CPU: a tenth of a core)
QUIET_SECONDS = 10.0  # ...and one once changes stopped for this long
COMPACT_BYTES = 64 << 20  # ...or once the journal since the last one is this big
CHILD_TIMEOUT_SECONDS = 300.0
LOCK_WAIT_SECONDS = 30.0  # a snapshot child of a killed bus may still be finishing its write
MARKER = "citizenbus-data.txt"
S3_IN_MEMORY = 1 << 40  # moto spools an S3 object over this size to a file (default 5 MB)
S3_BUFFER_VARIABLE = "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"
CURRENT, PREVIOUS, CORRUPT = "snapshot.bin", "snapshot.prev.bin", "snapshot.corrupt.bin"
# Not kept: the secrets are made again from the environment at every start (see the module's
# docstring); DynamoDB Streams holds only shard iterators (the streams are in the tables), one
# per poll and never dropped by moto: 36,000 an hour of an idle bus.
NOT_KEPT = frozenset({"secretsmanager", "dynamodbstreams"})
# Calls that change nothing (by their name's start); the others mark the bus dirty.
READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "Head", "Receive")
# ...except these, when they returned something: an in-flight message, a stream read further.
MOVING = {"ReceiveMessage": "Messages", "GetRecords": "Records"}

# The snapshot forks while the HTTP threads wait. The child takes no lock they could hold: it
# pickles moto's objects (their locks are replaced, not taken; see _reducers), compresses, and
# writes one file; it never logs, prints or imports.
warnings.filterwarnings(
    "ignore",
    message=r"This process .* is multi-threaded, use of fork\(\)",
    category=DeprecationWarning,
)


class SnapshotRefused(Exception):
    """The data directory cannot be used as it is; the message says what to do."""


class _Unreadable(Exception):
    """A snapshot file that does not read back."""


@dataclass
class Saved:
    """One snapshot written: its size, how long the bus lock was held, the whole time."""

    bytes: int
    pickled_bytes: int
    locked_seconds: float
    seconds: float


def versions() -> dict[str, str]:
    return {
        "moto": moto.__version__,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- pickling moto's state -----------------------------------------------------------------------
def _lock(kind: Callable[[], Any]) -> tuple[Callable[[], Any], tuple[()]]:
    return kind, ()


def _limited_size_dict(items: dict[str, Any]) -> Any:
    """moto's DynamoDB attribute map, filled without its per-key size check (quadratic; the
    item passed it when it was written)."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict  # noqa: PLC0415 - see _reducers

    made = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(made, items)
    return made


def _private_key(cls: Any, state: dict[str, Any], der: bytes) -> Any:
    """moto's KMS signing key, its private key read back from PKCS#8."""
    from cryptography.hazmat.primitives.serialization import load_der_private_key  # noqa: PLC0415 - with moto's KMS

    made = cls.__new__(cls)
    made.__dict__.update(state, private_key=load_der_private_key(der, password=None))
    return made


def _reduce_private_key(key: Any) -> tuple[Any, ...]:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - with moto's KMS

    der = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    state = {k: v for k, v in key.__dict__.items() if k != "private_key"}
    return _private_key, (type(key), state, der)


def _s3_object(cls: Any, state: dict[str, Any]) -> Any:
    made = cls.__new__(cls)
    made.__setstate__(state)  # moto's own: a new buffer with the value, a new lock
    return made


def _reduce_s3_object(key: Any) -> tuple[Any, ...]:
    """moto's S3 object, read in place: its own ``__getstate__`` takes the object's lock and
    seeks its buffer, and in the forked child a lock another thread held stays held. Objects
    stay in memory while a data directory is in use (:data:`S3_IN_MEMORY`); one spooled to a
    file (a smaller ``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE`` set by hand) is read moto's way."""
    inner = getattr(key._value_buffer, "_file", None)
    if not isinstance(inner, io.BytesIO) or inner.closed:
        return _s3_object, (type(key), key.__getstate__())
    state = {k: v for k, v in key.__dict__.items() if k not in ("_value_buffer", "lock")}
    state["value"] = inner.getvalue()
    state["_max_buffer_size"] = max(state.get("_max_buffer_size") or 0, S3_IN_MEMORY)
    return _s3_object, (type(key), state)


def _reducers() -> dict[type, Callable[[Any], Any]]:
    """What the default pickling cannot do (locks, OpenSSL keys) or does slowly."""
    import _thread  # noqa: PLC0415 - the lock types, for the table only

    from moto.dynamodb.models.dynamo_type import LimitedSizeDict  # noqa: PLC0415 - moto's models once a snapshot is taken
    from moto.kms.utils import ECDSAPrivateKey, RSAPrivateKey  # noqa: PLC0415 - see above
    from moto.s3.models import FakeKey  # noqa: PLC0415 - see above

    return {
        _thread.LockType: lambda _: _lock(threading.Lock),
        _thread.RLock: lambda _: _lock(threading.RLock),
        threading.Condition: lambda _: _lock(threading.Condition),
        threading.Event: lambda _: _lock(threading.Event),
        LimitedSizeDict: lambda d: (_limited_size_dict, (dict(d),)),
        RSAPrivateKey: _reduce_private_key,
        ECDSAPrivateKey: _reduce_private_key,
        FakeKey: _reduce_s3_object,
    }


def _backend_dicts() -> dict[tuple[str, str], BackendDict[Any]]:
    """moto's backends in use, by the (module, name) that finds them again."""
    found: dict[tuple[str, str], BackendDict[Any]] = {}
    for backends in list(BackendDict._instances):  # type: ignore[misc]
        if backends.service_name in NOT_KEPT:
            continue
        for module_name in (backends.backend.__module__, *sorted(sys.modules)):
            module = sys.modules.get(module_name)
            if module_name.startswith("moto.") and module is not None:
                names = [k for k, v in vars(module).items() if v is backends]
                if names:
                    found[(module_name, names[0])] = backends
                    break
    return found


def _aws_state() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    # dict's own items(): BackendDict.__getitem__ creates backends and takes moto's lock
    return {
        key: {account: dict(dict.items(regions)) for account, regions in dict.items(backends)}
        for key, backends in _backend_dicts().items()
    }


def _restore_aws(state: dict[tuple[str, str], dict[str, dict[str, Any]]]) -> None:
    import importlib  # noqa: PLC0415 - on restore only

    for (module_name, name), accounts in state.items():
        backends = getattr(importlib.import_module(module_name), name)
        for account, regions in accounts.items():
            holder = backends[account]  # registers the BackendDict as in use (reset at stop)
            for region, backend in regions.items():
                dict.__setitem__(holder, region, backend)


# -- the data directory ---------------------------------------------------------------------------
class Persistence:
    """A data directory for one :class:`LocalBus`: restores it at start, snapshots it after.

    ``LocalBus(persistence=p).start()`` calls :meth:`load_aws` (after moto starts; True means
    the state was restored and nothing is provisioned) and :meth:`attach` (at the end of
    start). Then run :meth:`run` in a thread, and :meth:`close` at a clean stop.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fresh: bool = False,
        interval: float = INTERVAL_SECONDS,
        say: Callable[[str], None] = _say,
        fork: bool | None = None,
        lock_wait: float = LOCK_WAIT_SECONDS,
        flush_interval: float = FLUSH_SECONDS,
        compact_seconds: float = COMPACT_SECONDS,
        compact_bytes: int = COMPACT_BYTES,
        quiet_seconds: float = QUIET_SECONDS,
    ) -> None:
        self.directory = Path(directory).expanduser().resolve()
        self.interval = interval
        self.flush_interval = flush_interval
        self.compact_seconds = compact_seconds
        self.compact_bytes = compact_bytes
        self.quiet_seconds = quiet_seconds
        self._active_at = time.monotonic()
        self.tracker = Tracker()
        self.generation = 1  # the journal appended to: what changed after snapshot ≤ this
        self.snapshot_generation: int | None = None  # that of snapshot.bin
        self.journal_bytes = 0  # appended since the last snapshot's fork
        self.replayed = 0  # journal records put back at start
        self._writer: journal.Writer | None = None
        self._journaling = threading.Lock()  # a flush, or a snapshot's fork and switch
        self._changed = False  # changes since the last snapshot
        self._requested = False  # a snapshot wanted now (an empty start, a failed flush)
        self._compacted_at = time.monotonic()
        self._dispatch: dict[Any, Any] | None = None
        self.say = say
        self.fork = hasattr(os, "fork") if fork is None else fork
        self.dirty = False
        self._settle = False
        self.bus: LocalBus | None = None
        self.last: Saved | None = None
        self.restored: dict[str, Any] | None = None  # the header of the snapshot loaded
        self._bus_state: dict[str, Any] = {}
        self._texts = 0
        self._errors: set[str] = set()
        self._saving = threading.Lock()
        self._lock_file: Any = None
        self._lock_wait = lock_wait
        self._s3_buffer: str | None = None
        self._hook_id = f"citizenbus-persistence-{id(self)}"
        self._open(fresh)

    # -- the directory ----------------------------------------------------------------------
    def _open(self, fresh: bool) -> None:
        path = self.directory
        if path.exists() and not path.is_dir():
            raise SnapshotRefused(f"--data {path}: not a directory")
        if path.is_dir() and any(path.iterdir()) and not (path / MARKER).exists():
            raise SnapshotRefused(
                f"--data {path}: the directory is not empty and is not a citizenbus data"
                " directory; name a new or empty one (nothing in it was changed)"
            )
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)
        marker = path / MARKER
        if not marker.exists():
            self._write_small(
                marker,
                "The citizenbus local bus's data (citizenbus serve --data): requests, contacts,\n"
                "queued messages. It holds personal data: keep it private, never commit or share\n"
                "it. `citizenbus serve --fresh` empties it.\n",
            )
        self._take_lock()
        for leftover in path.glob("snapshot.tmp-*"):  # a write cut short; the rename never came
            leftover.unlink(missing_ok=True)
        if fresh:
            for name in (CURRENT, PREVIOUS, CORRUPT):
                (path / name).unlink(missing_ok=True)
            for generation in journal.generations(path):
                (path / journal.journal_name(generation)).unlink(missing_ok=True)

    def _take_lock(self) -> None:
        try:
            import fcntl  # noqa: PLC0415 - POSIX only; elsewhere the directory is not locked
        except ImportError:
            return
        self._lock_file = open(self.directory / "lock", "a+")  # noqa: SIM115 - held while the bus runs
        os.chmod(self._lock_file.name, 0o600)
        deadline = time.monotonic() + self._lock_wait
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._lock_file.close()
                    raise SnapshotRefused(
                        f"--data {self.directory}: another citizenbus serve is using this"
                        " directory; stop it first or name another directory"
                    ) from None
                time.sleep(0.2)

    @staticmethod
    def _write_small(path: Path, text: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    # -- restoring ----------------------------------------------------------------------------
    def load_aws(self, bus: LocalBus) -> bool:
        """Put the snapshot's AWS state into moto (just started, empty) and keep the bus's
        own state for :meth:`attach`; True if a snapshot was loaded. Installs the hook that
        marks the bus dirty (before any client is made)."""
        self.bus = bus
        self._install_hook()
        self.tracker.install()
        self._s3_buffer = os.environ.get(S3_BUFFER_VARIABLE)
        os.environ.setdefault(S3_BUFFER_VARIABLE, str(S3_IN_MEMORY))  # see _reduce_s3_object
        found = journal.generations(self.directory)
        for name in (CURRENT, PREVIOUS):
            path = self.directory / name
            if not path.exists():
                continue
            started = time.perf_counter()
            collecting = gc.isenabled()
            gc.disable()  # millions of new objects: no collections while they are made
            try:
                try:
                    header, state = self._read(path)
                except _Unreadable as exc:
                    self._set_aside(path, str(exc))
                    continue
                _restore_aws(state["aws"])
                read = time.perf_counter() - started
                generation = int(header.get("generation", 0))
                replayed = self._replay(generation, state["bus"])
                # what was restored lives as long as the bus: out of the GC's walks (a city
                # is millions of objects; see seed.settle). Frozen as made, not collected
                # first: a collection would walk them all once (10 s at 40,000 requests).
                gc.freeze()
            finally:
                if collecting:
                    gc.enable()
            fastmoto.forget()  # the items were put back behind the maintained indexes
            bus.queue_urls = dict(state["bus"]["queue_urls"])
            self._bus_state = state["bus"]
            self.restored = header
            self.snapshot_generation = generation if name == CURRENT else None
            self.generation = max([generation, *found]) + 1
            self.journal_bytes = sum(  # replayed at every start until the next snapshot
                (self.directory / journal.journal_name(g)).stat().st_size
                for g in found
                if g >= generation
            )
            self.say(
                f"restored the bus from {path} (written {header['written_at']},"
                f" {header['bytes'] / 1e6:.1f} MB, read in {read:.1f} s) and"
                f" {replayed} journal records after it"
                f" ({time.perf_counter() - started:.1f} s in all)"
            )
            return True
        for generation in found:  # changes to a snapshot that is not there: no use
            (self.directory / journal.journal_name(generation)).unlink(missing_ok=True)
        self.generation = 1
        self.say(f"keeping the bus in {self.directory} (empty at start)")
        return False

    def _replay(self, generation: int, bus_state: dict[str, Any]) -> int:
        """Put back the journals written after the snapshot of ``generation``; the number of
        records. A record cut short or damaged ends its journal (the write a kill
        interrupted): what came before it is used."""
        count = 0
        for number, payloads, torn in journal.iterate(self.directory, generation):
            for payload in payloads:
                try:
                    delta = pickle.loads(payload)  # noqa: S301 - our own 0700 directory
                    journal.apply(delta, bus_state)
                except Exception as exc:  # a record that does not apply: the rest is unsure
                    self.say(
                        f"WARNING: journal {journal.journal_name(number)} record {count + 1}"
                        f" does not apply ({type(exc).__name__}: {exc}); later records skipped"
                    )
                    return count
                count += 1
            if torn is not None:
                self.say(
                    f"the journal {journal.journal_name(number)} ends with {torn} (a write"
                    " cut short by a kill); the records before it were used"
                )
        self.replayed = count
        return count

    def _read(self, path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        with path.open("rb") as f:
            line = f.readline(4096)
            if not line.startswith(MAGIC) or not line.endswith(b"\n"):
                raise _Unreadable("no snapshot header")
            try:
                header: dict[str, Any] = json.loads(line[len(MAGIC) :])
            except ValueError as exc:
                raise _Unreadable(f"header unreadable: {exc}") from None
            wanted = {
                "format": header.get("format") if header.get("format") in READABLE else FORMAT,
                **versions(),
            }
            made = {k: header.get(k) for k in wanted}
            if None in made.values() or not isinstance(header.get("bytes"), int):
                raise _Unreadable("header incomplete")
            if made != wanted:
                differ = ", ".join(
                    f"{k} {made[k]} (here {v})" for k, v in wanted.items() if made[k] != v
                )
                raise SnapshotRefused(
                    f"--data {self.directory}: the snapshot there was written by another version:"
                    f" {differ}. It is not loaded, since moto's internals differ between versions."
                    " Start with --fresh to empty the directory (its data is lost), or run the"
                    " version that wrote it."
                )
            payload = f.read()
        if len(payload) != header.get("bytes") or zlib.crc32(payload) != header.get("crc32"):
            raise _Unreadable(
                f"{len(payload)} bytes where the header says {header.get('bytes')}"
                " (cut short or damaged)"
                if len(payload) != header.get("bytes")
                else "checksum mismatch (damaged)"
            )
        try:
            state: dict[str, Any] = pickle.loads(zlib.decompress(payload))  # noqa: S301 - our own 0700 directory
        except Exception as exc:  # an unreadable pickle is a damaged snapshot, never a crash
            raise _Unreadable(f"payload unreadable: {exc!r}") from None
        if not isinstance(state, dict) or not {"aws", "bus"} <= state.keys():
            raise _Unreadable("payload is not a snapshot")
        return header, state

    def _set_aside(self, path: Path, why: str) -> None:
        os.replace(path, self.directory / CORRUPT)
        fallback = (
            f"loading {PREVIOUS}"
            if path.name == CURRENT and (self.directory / PREVIOUS).exists()
            else "starting empty"
        )
        self.say(
            f"WARNING: the snapshot {path} does not read back ({why}); moved it to {CORRUPT},"
            f" {fallback}"
        )

    def attach(self, bus: LocalBus) -> None:
        """At the end of ``LocalBus.start``: the bus's own state from the snapshot (stream
        positions and unhandled records, the recorded texts)."""
        self.bus = bus
        state = self._bus_state
        streams = state.get("streams", {})
        for stream in bus.streams:
            kept = streams.get(stream.arn)
            if kept:
                stream.positions = dict(kept["positions"])
                stream.pending = list(kept["pending"])
                stream.attempts = int(kept["attempts"])
                stream.shards = dict(kept["shards"])
        if isinstance(bus.twilio, RecordingHttpClient):
            bus.twilio.sent[:] = state.get("texts", [])
        self._texts = self._text_count()
        self._bus_state = {}
        self.tracker.baseline(bus)  # what is there now is in the snapshot and journals
        if self.restored is not None:
            self.dirty = False  # only the secrets were made again, and they are not kept
        else:
            self._requested = True  # the first snapshot: the journal needs one to start from

    # -- noticing changes ----------------------------------------------------------------------
    def _install_hook(self) -> None:
        import boto3  # noqa: PLC0415 - with the bus

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register("after-call", self._after_call, unique_id=self._hook_id)
        session.events.register(
            "provide-client-params", self._params, unique_id=f"{self._hook_id}-params"
        )

    def _remove_hook(self) -> None:
        import boto3  # noqa: PLC0415 - with the bus

        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.unregister("after-call", unique_id=self._hook_id)
            boto3.DEFAULT_SESSION.events.unregister(
                "provide-client-params", unique_id=f"{self._hook_id}-params"
            )

    @staticmethod
    def _params(params: Any = None, context: Any = None, **_: Any) -> None:
        """The call's parameters, for ``after-call`` (which is not given them)."""
        if isinstance(context, dict):
            context["citizenbus-params"] = params

    def _after_call(
        self, model: Any = None, parsed: Any = None, context: Any = None, **_: Any
    ) -> None:
        name = getattr(model, "name", "")
        if name in MOVING:
            if not (isinstance(parsed, dict) and parsed.get(MOVING[name])):
                return
        elif name.startswith(READS):
            return
        self.dirty = True
        if isinstance(parsed, dict) and parsed.get("Error"):
            return  # refused: nothing changed
        service = getattr(getattr(model, "service_model", None), "service_name", "")
        params = context.get("citizenbus-params") if isinstance(context, dict) else None
        self.tracker.call(service, name, params)

    def mark_dirty(self) -> None:
        """Something changed that the hook does not see (moto reached over its HTTP port)."""
        self.dirty = True
        self.tracker.anything()

    def _text_count(self) -> int:
        twilio = self.bus.twilio if self.bus is not None else None
        return len(twilio.sent) if isinstance(twilio, RecordingHttpClient) else 0

    # -- the journal --------------------------------------------------------------------------
    def _table(self) -> dict[Any, Any]:
        if self._dispatch is None:
            self._dispatch = {**_copyreg_table(), **_reducers()}
        return self._dispatch

    def _append(self, payload: bytes) -> int:
        """Append one record to the current journal (fsynced); its size."""
        if self._writer is None or self._writer.path.name != journal.journal_name(self.generation):
            if self._writer is not None:
                self._writer.close()
            self._writer = journal.Writer(
                self.directory / journal.journal_name(self.generation),
                lambda: _fsync_directory(self.directory),
            )
        size = self._writer.append(payload)
        self.journal_bytes += size
        return size

    def flush(self) -> int:
        """Append what changed since the last flush to the journal, fsynced; the bytes
        written (0: nothing changed). The changes are read under the bus lock, as stored; the
        write and the fsync happen outside it."""
        if self.bus is None:
            return 0
        with self._journaling:
            try:
                with self.bus.lock:
                    delta = self.tracker.collect(self.bus)
                    payload = journal.dumps(delta, self._table()) if delta else b""
                if not payload:
                    return 0
                self.dirty = True  # a change (made in-process past the hook, too): activity
                return self._append(payload)
            except Exception as exc:  # not journaled: a snapshot keeps it instead
                self._requested = True
                self._warn("journal", exc)
                return 0

    def _flush_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.flush_interval):
            self.flush()

    def _warn(self, what: str, exc: BaseException) -> None:
        reason = f"{what}: {type(exc).__name__}: {exc}"
        if reason not in self._errors:
            self._errors.add(reason)
            self.say(f"WARNING: {what} in {self.directory} failed: {reason}")

    # -- snapshots ----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """The journal's flushes (a thread of their own, every :data:`FLUSH_SECONDS`) and the
        snapshot loop (a thread of ``citizenbus serve``)."""
        flusher = threading.Thread(
            target=self._flush_loop, args=(stop,), daemon=True, name="journal"
        )
        flusher.start()
        try:
            while not stop.wait(self.pause()):
                self.tick()
        finally:
            flusher.join(timeout=10)

    def pause(self) -> float:
        """The wait before the next look."""
        return self.interval

    def tick(self) -> Saved | None:
        """One look: a snapshot (compacting the journal) when changes went on for
        :attr:`compact_seconds`, when they stopped for :attr:`quiet_seconds`, when the
        journal grew past
        :attr:`compact_bytes`, or at once for a change the journal cannot hold; once more
        after one with changes, so that ``snapshot.prev.bin`` (and the journals kept for it)
        hold no older state than the current one (an erasure leaves no older copy behind)."""
        texts = self._text_count()
        if texts != self._texts:
            self._texts, self.dirty = texts, True
        active, self.dirty = self.dirty, False
        now = time.monotonic()
        if active:
            self._changed, self._active_at = True, now
        quiet = now - self._active_at >= self.quiet_seconds
        due = (
            self._requested
            or self.tracker.compact
            or self.journal_bytes >= self.compact_bytes
            or (self._changed and (quiet or now - self._compacted_at >= self.compact_every()))
        )
        if due:
            saved = self.save()
            if saved is not None:
                self._settle = True
            return saved
        if self._settle and quiet:
            self._settle = False
            return self.save()
        return None

    def compact_every(self) -> float:
        """While changes go on: a snapshot every :attr:`compact_seconds`, or every
        :data:`COMPACT_SHARE` times the last one's time if longer (a big city's snapshot takes
        seconds of the other core; the journal holds what changes meanwhile)."""
        last = self.last.seconds if self.last is not None else 0.0
        return max(self.compact_seconds, COMPACT_SHARE * last)

    def save(self) -> Saved | None:
        """Write a snapshot now; None (and a message, once per kind) if it failed."""
        assert self.bus is not None, "load_aws first"
        with self._saving:
            was = self.snapshot_generation
            self.flush()  # the bulk of the changes first: the fork's own hold of the lock
            try:
                saved = self._save_forked() if self.fork else self._save_here()
            except Exception as exc:
                self.dirty = self._changed = True  # try again next time
                self._warn("snapshot", exc)
                return None
            self.last = saved
            self._changed = self._requested = False
            self._compacted_at = time.monotonic()
            # the journals before the previous snapshot are no longer needed by either (with
            # no previous one: those before this one)
            keep = was if was is not None else self.snapshot_generation
            for generation in journal.generations(self.directory):
                if keep is not None and generation < keep:
                    (self.directory / journal.journal_name(generation)).unlink(missing_ok=True)
            return saved

    def _switch(self) -> tuple[bytes, int, int]:
        """Under the bus lock, at a snapshot: what changed since the last flush (for the
        journal the snapshot starts after), and the new generation."""
        table = self._table()  # made here: the forked child imports nothing
        delta = self.tracker.collect(self.bus)  # type: ignore[arg-type]
        with self.tracker.lock:
            self.tracker.compact = False
        self.dirty = False
        old = self.generation
        self.generation += 1
        return (journal.dumps(delta, table) if delta else b""), old, self.generation

    def _close_switch(self, payload: bytes, old: int) -> None:
        """After the fork: the changes before it to the old journal; the new one starts."""
        if payload:
            current, self.generation = self.generation, old
            try:
                self._append(payload)
            finally:
                self.generation = current
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.journal_bytes = 0

    def _dump(self) -> bytes:
        """The whole state, pickled (under the bus lock, or in the forked child)."""
        bus = self.bus
        assert bus is not None
        state = {
            "aws": _aws_state(),
            "bus": {
                "queue_urls": dict(bus.queue_urls),
                "streams": {
                    s.arn: {
                        "positions": s.positions,
                        "pending": s.pending,
                        "attempts": s.attempts,
                        "shards": s.shards,
                    }
                    for s in bus.streams
                },
                "texts": list(bus.twilio.sent)
                if isinstance(bus.twilio, RecordingHttpClient)
                else [],
            },
        }
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=5)
        pickler.dispatch_table = self._table()
        pickler.dump(state)
        return buffer.getvalue()

    def _write(self, pickled: bytes, generation: int) -> int:
        """Compress and write ``pickled`` as the current snapshot, atomically; its size."""
        payload = zlib.compress(pickled, 1)
        header = {
            "format": FORMAT,
            **versions(),
            "generation": generation,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "bytes": len(payload),
            "crc32": zlib.crc32(payload),
            "pickled_bytes": len(pickled),
        }
        current = self.directory / CURRENT
        temporary = self.directory / f"snapshot.tmp-{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + json.dumps(header).encode() + b"\n")
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        if current.exists():  # the previous good one stays, under its own name
            kept = self.directory / f"snapshot.tmp-prev-{os.getpid()}"
            with contextlib.suppress(FileExistsError):
                kept.unlink(missing_ok=True)
            try:
                os.link(current, kept)
                os.replace(kept, self.directory / PREVIOUS)
            except OSError:  # no hard links here: a moment with only the previous one
                os.replace(current, self.directory / PREVIOUS)
        os.replace(temporary, current)
        _fsync_directory(self.directory)
        return len(payload) + len(MAGIC) + 1

    def _save_here(self) -> Saved:
        assert self.bus is not None
        started = time.perf_counter()
        with self._journaling:
            with self.bus.lock:
                delta, old, generation = self._switch()
                pickled = self._dump()
            locked = time.perf_counter() - started
            self._close_switch(delta, old)
        size = self._write(pickled, generation)
        self.snapshot_generation = generation
        return Saved(size, len(pickled), locked, time.perf_counter() - started)

    def _save_forked(self) -> Saved:
        assert self.bus is not None
        read_end, write_end = os.pipe()
        started = time.perf_counter()
        with self._journaling:
            try:
                with self.bus.lock:
                    delta, old, generation = self._switch()
                    pid = os.fork()
                    if pid == 0:  # pragma: no cover - the child; measured through the parent
                        self._child(read_end, write_end, generation)
            except BaseException:
                os.close(read_end)
                raise
            finally:
                os.close(write_end)
            locked = time.perf_counter() - started
            self._close_switch(delta, old)
        answer = _read_all(read_end, pid, CHILD_TIMEOUT_SECONDS)
        _, status = os.waitpid(pid, 0)
        try:
            result = json.loads(answer or b"{}")
        except ValueError:
            result = {}
        if "error" in result or "bytes" not in result:
            raise RuntimeError(result.get("error") or f"the snapshot process ended ({status})")
        self.snapshot_generation = generation
        return Saved(
            result["bytes"], result["pickled_bytes"], locked, time.perf_counter() - started
        )

    def _child(
        self, read_end: int, write_end: int, generation: int
    ) -> None:  # pragma: no cover - see above
        code = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the bus, not this write
            gc.disable()
            os.close(read_end)
            pickled = self._dump()
            size = self._write(pickled, generation)
            os.write(write_end, json.dumps({"bytes": size, "pickled_bytes": len(pickled)}).encode())
            code = 0
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                os.write(write_end, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        finally:
            os._exit(code)

    def close(self) -> Saved | None:
        """At a clean stop (the workers stopped): the last snapshot if anything changed, then
        the hook and the directory's lock are released."""
        saved = None
        if self.bus is not None:
            if self._text_count() != self._texts:
                self.dirty = True
            self.flush()
            if self.dirty or self._changed or self._settle or self._requested:
                saved = self.save()  # the previous snapshot too holds no older state
        self.release()
        return saved

    def release(self) -> None:
        """Let go of the directory without writing: the hooks removed, the lock released."""
        self._remove_hook()
        self.tracker.uninstall()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.bus is not None and self._s3_buffer is None:
            os.environ.pop(S3_BUFFER_VARIABLE, None)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _copyreg_table() -> dict[Any, Any]:
    import copyreg  # noqa: PLC0415 - with the pickler

    return dict(copyreg.dispatch_table)


def _read_all(fd: int, pid: int, timeout: float) -> bytes:
    """What the snapshot child wrote to the pipe, until it closed it; killed after ``timeout``."""
    import select  # noqa: PLC0415 - with fork

    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no directory handles here (Windows): the rename is what we have
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""``citizenbus serve --data``: what the bus holds survives a stop, a ``kill -9`` (the
journal since the last snapshot), a journal cut short and a damaged snapshot; an erasure
leaves no file; ``--fresh`` starts empty."""

from __future__ import annotations

import http.client
import json
import stat
import threading
import time
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError

import boto3
import pytest
from standardwebhooks import Webhook

from citizenbus import cli
from citizenbus.local import journal
from citizenbus.local.persistence import CURRENT, PREVIOUS, Persistence, SnapshotRefused
from citizenbus.local.runtime import LocalBus
from citizenbus.local.server import local_route
from functions.domain.agencies.routing import DELIVERY_MAX_RECEIVES, agency_queue, delivery_dlq
from functions.platform import aws
from schemas.events import STATUS_CHANGED, SUBMITTED
from tests.support.contacts import confirmed
from tests.support.serve import Served, free_port
from tests.support.tokens import KEYS
from tests.support.webhooks import FAST, file


def keeper(directory: Path, said: list[str], **options: Any) -> Persistence:
    return Persistence(directory, say=said.append, **options)


def agency_status(bus: LocalBus, reference: str) -> int:
    return bus.request("GET", f"/agency/v1/requests/{reference}", headers=KEYS["streets"]).status


def exports() -> dict[str, str]:
    s3 = boto3.client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "open-data" in b["Name"])
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


class Hook:
    """An agency's webhook receiver on a port chosen before it listens."""

    def __init__(self, port: int) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("ending", ["stopped", "killed after a journal flush"])
def test_a_bus_starts_again_with_everything_it_held(tmp_path: Path, ending: str) -> None:
    data, said = tmp_path / "data", list[str]()
    port = free_port()  # the agency's receiver: down until after the restart
    kept = keeper(data, said)
    with LocalBus(env=FAST, persistence=kept) as bus:
        assert kept.save() is not None  # the first snapshot (serve's first look): empty
        subscribed = bus.request(
            "PUT",
            "/agency/v1/subscriptions",
            headers=KEYS["streets"],
            json_body={
                "url": f"http://127.0.0.1:{port}/hook",
                "types": [SUBMITTED, STATUS_CHANGED],
            },
        )
        assert subscribed.status == 200, subscribed.text
        secret = subscribed.json()["secret"]
        confirmed(phone="0701234567", email="anna@example.se")  # so the bus sends receipts
        first = file(
            bus, "street-damage", {"address": "Storgatan 1", "notify_by": "sms", "consent": "on"}
        )
        second = file(
            bus, "street-damage", {"address": "Storgatan 2", "notify_by": "email", "consent": "on"}
        )
        for _ in range(DELIVERY_MAX_RECEIVES + 2):
            bus.pump()
        assert len(bus.queue_messages(delivery_dlq("streets"))) == 2  # dead-lettered deliveries
        queue = bus.queue_urls[agency_queue("streets")]
        in_flight = aws.sqs().receive_message(QueueUrl=queue, VisibilityTimeout=600)["Messages"]
        assert len(in_flight) == 1
        assert bus.run_schedules(force=True) >= 1  # the open-data export writes to S3
        before = {
            "outbox": local_route(bus, "GET", "/_local/outbox"),
            "exports": exports(),
            "queued": bus.queue_messages(agency_queue("streets")),
            "request": bus.request("GET", f"/agency/v1/requests/{first}", headers=KEYS["streets"]),
        }
        assert before["outbox"] is not None
        sent = {m["channel"] for m in json.loads(before["outbox"][2])}
        assert sent == {"sms", "email"}  # a text (Twilio's recorder) and an e-mail (SES)
        assert before["exports"]
        if ending == "stopped":
            assert kept.close() is not None  # the last snapshot, at a clean stop
        else:  # everything since the first snapshot is in the journal only
            assert kept.flush() > 0
            kept.release()

    said.clear()
    with LocalBus(env=FAST, persistence=keeper(data, said)) as bus:
        assert any("restored the bus" in s for s in said), said
        if ending != "stopped":
            assert not any(" 0 journal records" in s for s in said), said
        again = bus.request("GET", f"/agency/v1/requests/{first}", headers=KEYS["streets"])
        assert (again.status, again.json()) == (200, before["request"].json())
        assert agency_status(bus, second) == 200
        assert local_route(bus, "GET", "/_local/outbox") == before["outbox"]
        assert exports() == before["exports"]
        # Two messages in the agency queue, one still in flight (received before the stop)
        queue = bus.queue_urls[agency_queue("streets")]
        assert bus.queue_messages(agency_queue("streets")) == before["queued"]
        assert (
            len(aws.sqs().receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]) == 1
        )
        # The stream goes on from where it was: nothing old published again, the new one is
        bus.pump()
        assert len(bus.queue_messages(agency_queue("streets"))) == 2
        third = file(bus, "street-damage", {"address": "Storgatan 3"})
        bus.pump()
        subjects = [m["detail"]["subject"] for m in bus.queue_messages(agency_queue("streets"))]
        assert sorted(subjects) == sorted([first, second, third])
        # The dead-lettered deliveries are there, and their signing secret (encrypted under
        # the KMS key) still decrypts: redriven, they arrive signed with the secret of before.
        hook = Hook(port)
        try:
            assert bus.invoke("redrive", {"agency": "streets"}) == {"moved": {"streets": 2}}
            bus.pump()
            received = {json.loads(body)["subject"] for headers, body in hook.posts}
            assert {first, second} <= received
            for headers, body in hook.posts:
                Webhook(secret).verify(body, headers)
        finally:
            hook.close()


def test_a_damaged_snapshot_falls_back_to_the_one_before_and_its_journals_then_to_empty(
    tmp_path: Path,
) -> None:
    data, said = tmp_path / "data", list[str]()
    kept = keeper(data, said, fork=False)  # the in-process way of writing, too
    with LocalBus(persistence=kept) as bus:
        older = file(bus, "street-damage", {"address": "Storgatan 1"})
        assert kept.save() is not None
        newer = file(bus, "street-damage", {"address": "Storgatan 2"})
        assert kept.save() is not None
        kept.release()
    current = data / CURRENT
    current.write_bytes(current.read_bytes()[: current.stat().st_size // 2])  # cut short

    said.clear()
    kept = keeper(data, said)
    with LocalBus(persistence=kept) as bus:
        assert agency_status(bus, older) == 200
        # the journal written after the previous snapshot brings the newer filing back too
        assert agency_status(bus, newer) == 200
        kept.release()
    assert "does not read back" in said[0] and PREVIOUS in said[0], said
    assert (data / "snapshot.corrupt.bin").exists()

    (data / CURRENT).write_bytes(b"not a snapshot")
    (data / PREVIOUS).write_bytes(b'citizenbus-snapshot {"format": 1}\n')
    said.clear()
    kept = keeper(data, said)
    with LocalBus(persistence=kept) as bus:
        assert agency_status(bus, older) == 404
        assert bus.request("GET", "/healthz").status == 200
        kept.release()
    assert "starting empty" in said[-2] and "empty at start" in said[-1], said


def test_a_snapshot_of_another_moto_version_is_refused_with_the_fresh_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    kept = keeper(data, [])
    with LocalBus(persistence=kept):
        assert kept.save() is not None
        kept.release()
    snapshot = data / CURRENT
    header, _, payload = snapshot.read_bytes().partition(b"\n")
    older = json.loads(header.split(b" ", 1)[1]) | {"moto": "4.0.0"}
    written = b"citizenbus-snapshot " + json.dumps(older).encode() + b"\n" + payload
    snapshot.write_bytes(written)

    assert (
        cli.main(["serve", "--port", str(free_port()), "--aws-port", "0", "--data", str(data)]) == 2
    )
    message = capsys.readouterr().err
    assert "moto 4.0.0" in message and "--fresh" in message
    assert snapshot.read_bytes() == written  # refused, not replaced


def test_only_an_empty_or_own_directory_is_used_and_never_by_two_buses(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("someone's own files")
    for fresh in (False, True):
        with pytest.raises(SnapshotRefused, match="not a citizenbus data directory"):
            Persistence(tmp_path, fresh=fresh)
    assert (tmp_path / "notes.txt").read_text() == "someone's own files"

    data = tmp_path / "data"
    held = Persistence(data)
    try:
        with pytest.raises(SnapshotRefused, match="another citizenbus serve"):
            Persistence(data, lock_wait=0)
    finally:
        held.release()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700  # personal data: the owner's only


def test_only_changes_mark_the_bus_for_a_snapshot(tmp_path: Path) -> None:
    kept = keeper(tmp_path / "data", [])
    with LocalBus(persistence=kept) as bus:
        assert kept.save() is not None and not kept.dirty
        bus.pump()  # empty queues and streams polled
        assert bus.request("GET", "/open311/v2/services.json").status == 200
        assert not kept.dirty
        file(bus, "street-damage", {"address": "Storgatan 1"})
        assert kept.dirty
        kept.release()


def test_while_changes_go_on_the_journal_holds_them_and_snapshots_stay_rare(
    tmp_path: Path,
) -> None:
    """A stranger filing without pause cannot make the bus write a whole snapshot at every
    look (seconds of CPU each at a city's size): the journal takes the changes; a snapshot
    comes once the journal is big, the changes stop, or a long interval passed."""
    kept = keeper(tmp_path / "data", [], interval=0, compact_seconds=3600, quiet_seconds=3600)
    with LocalBus(persistence=kept) as bus:
        assert kept.tick() is not None  # the first snapshot, of the empty bus
        for n in range(3):
            file(bus, "street-damage", {"address": f"Storgatan {n}"})
            assert kept.flush() > 0
            assert kept.tick() is None  # journaled, no snapshot
        kept.compact_bytes = kept.journal_bytes  # the journal reached its bound
        assert kept.tick() is not None
        assert kept.journal_bytes == 0
        file(bus, "street-damage", {"address": "Storgatan 9"})
        assert kept.flush() > 0 and kept.tick() is None
        kept.quiet_seconds = 0  # the changes stopped
        assert kept.tick() is not None
        assert kept.tick() is not None  # once more, for the previous snapshot
        assert kept.tick() is None
        kept.release()


# -- a real citizenbus serve -----------------------------------------------------------------------
def post_form(base: str, n: int) -> str:
    body = urllib.parse.urlencode({"address": f"Storgatan {n}", "phone": "0701234567"}).encode()
    request = urllib.request.Request(f"{base}/eservice/v1/forms/street-damage", data=body)
    with urllib.request.urlopen(request, timeout=30) as answer:
        reference: str = json.load(answer)["reference"]
    return reference


def served_status(base: str, reference: str) -> int:
    request = urllib.request.Request(
        f"{base}/agency/v1/requests/{reference}", headers=KEYS["streets"]
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except HTTPError as exc:
        return exc.code


def test_an_item_changed_in_place_is_journaled(tmp_path: Path) -> None:
    """``UpdateItem`` on an existing item changes it in place (no ``put_item``): a status
    change made after the last snapshot comes back from the journal."""
    data = tmp_path / "data"
    kept = keeper(data, [], fork=False)
    with LocalBus(persistence=kept) as bus:
        reference = file(bus, "street-damage", {"address": "Storgatan 1"})
        bus.pump()
        assert kept.save() is not None  # filed and routed: in the snapshot
        changed = bus.request(
            "POST",
            f"/agency/v1/requests/{reference}/status",
            headers=KEYS["streets"],
            json_body={"status": "in_progress"},
        )
        assert changed.status == 200, changed.text
        assert kept.flush() > 0
        kept.release()  # as a kill -9
    kept = keeper(data, [])
    with LocalBus(persistence=kept) as bus:
        looked = bus.request("GET", f"/agency/v1/requests/{reference}", headers=KEYS["streets"])
        assert looked.json()["status"] == "in_progress", looked.text
        kept.release()


def test_a_journal_cut_short_by_a_kill_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    data, said = tmp_path / "data", list[str]()
    kept = keeper(data, said, fork=False)
    with LocalBus(persistence=kept) as bus:
        assert kept.save() is not None  # the snapshot the journal follows
        before = file(bus, "street-damage", {"address": "Storgatan 1"})
        assert kept.flush() > 0
        cut = file(bus, "street-damage", {"address": "Storgatan 2"})
        assert kept.flush() > 0
        kept.release()  # as a kill -9: no last snapshot
    (written,) = data.glob("journal.*.bin")
    whole = written.read_bytes()
    records, torn = journal.records(written)
    assert len(records) == 2 and torn is None
    written.write_bytes(whole[: len(whole) - len(records[1]) // 2])  # the last write cut short

    said.clear()
    kept = keeper(data, said)
    with LocalBus(persistence=kept) as bus:
        assert agency_status(bus, before) == 200
        assert agency_status(bus, cut) == 404
        assert bus.request("GET", "/healthz").status == 200
        after = file(bus, "street-damage", {"address": "Storgatan 3"})  # goes on after it
        assert kept.flush() > 0
        kept.release()
    assert any("cut short" in s for s in said), said
    assert any("1 journal records after it" in s for s in said), said
    # a damaged record (a flipped byte) ends its journal the same way; later journals apply
    written.write_bytes(whole[:-3] + bytes([whole[-3] ^ 0xFF]) + whole[-2:])
    said.clear()
    kept = keeper(data, said)
    with LocalBus(persistence=kept) as bus:
        assert [agency_status(bus, r) for r in (before, cut, after)] == [200, 404, 200]
        kept.release()
    assert any("checksum" in s for s in said), said


def test_kill_9_mid_load_keeps_every_filing_older_than_two_seconds(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    first = Served("--data", data)
    answered: list[tuple[float, str]] = []
    stop = threading.Event()

    def filing() -> None:
        n = 0
        while not stop.is_set():
            try:
                reference = post_form(first.base, n)
            except (URLError, OSError, http.client.HTTPException, ValueError):
                return  # the bus was killed mid-filing (refused, reset, cut short)
            answered.append((time.monotonic(), reference))
            n += 1

    loop = threading.Thread(target=filing)
    loop.start()
    time.sleep(9)
    killed_at = time.monotonic()
    first.stop(kill=True)
    stop.set()
    loop.join(timeout=60)
    # the journal is appended to and fsynced every 0.5 s (the snapshot after the first
    # one comes only after a minute of changes: what is kept here came through the journal)
    older = [reference for at, reference in answered if at < killed_at - 2]
    assert len(older) >= 10, f"only {len(older)} filings in the first seconds"

    aws_port = free_port()
    second = Served("--data", data, aws_port=aws_port)
    try:
        assert "restored the bus" in second.banner, second.banner
        assert " 0 journal records" not in second.banner, second.banner
        missing = [r for r in older if served_status(second.base, r) != 200]
        assert not missing, f"{len(missing)} of {len(older)} filings lost"
        assert served_status(second.base, post_form(second.base, 10_000)) == 200
        # A change made through the AWS port (no hook of the bus sees it) is kept too
        time.sleep(5)  # the filing's snapshots are written; nothing left to write
        sqs = boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{aws_port}",
            region_name="eu-north-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        url = sqs.get_queue_url(QueueName=agency_queue("streets"))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"sent": "over the AWS port"}))
        time.sleep(5)
    finally:
        second.stop(kill=True)
    third = Served("--data", data)
    try:
        with urllib.request.urlopen(f"{third.base}/_local/queues/streets", timeout=30) as r:
            assert {"sent": "over the AWS port"} in json.load(r)
    finally:
        third.stop()


def test_a_clean_stop_keeps_the_last_filing_and_fresh_starts_empty(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Served("--data", str(data))
    assert str(data) in first.banner
    reference = post_form(first.base, 1)
    assert first.stop() == 0
    assert "saved the bus" in first.banner
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()} == {0o600}

    second = Served("--data", str(data))
    try:
        assert served_status(second.base, reference) == 200
    finally:
        second.stop()
    third = Served("--data", str(data), "--fresh")
    try:
        assert served_status(third.base, reference) == 404
    finally:
        third.stop()


def test_an_erased_citizen_leaves_neither_snapshot_nor_journal_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    kept = keeper(data, [], interval=0, compact_seconds=0, quiet_seconds=0)
    email = b"erik.erased@example.se"
    with LocalBus(persistence=kept) as bus:
        assert kept.tick() is not None  # the first snapshot, of the empty bus
        answer = bus.request(
            "POST",
            "/eservice/v1/forms/street-damage",
            json_body={"address": "Storgatan 1", "email": "erik.erased@example.se"},
        )
        assert answer.status == 201, answer.text
        bus.pump()
        assert kept.flush() > 0
        assert email in journals(data)  # journaled before any snapshot holds it
        assert kept.tick() is not None
        assert email in snapshot_bytes(data / CURRENT)
        erased = bus.invoke("erasure", {"email": "erik.erased@example.se"})
        assert erased["erased"]["requests"] == 1
        assert kept.flush() > 0  # the erasure journaled: the items as they are now (gone)
        assert kept.tick() is not None  # the change
        assert kept.tick() is not None  # and once more: the previous one is the same state
        assert kept.tick() is None  # then nothing until the next change
        for name in (CURRENT, PREVIOUS):
            assert email not in snapshot_bytes(data / name), name
        assert email not in journals(data)
        kept.release()
    # and what is kept is the erased state
    with LocalBus(persistence=keeper(data, [])) as bus:
        assert bus.invoke("erasure", {"email": "erik.erased@example.se"})["erased"]["requests"] == 0
        assert bus.persistence is not None
        bus.persistence.release()


def journals(directory: Path) -> bytes:
    """Every journal in ``directory``, as written (records are pickled, not compressed)."""
    return b"".join(p.read_bytes() for p in sorted(directory.glob("journal.*.bin")))


def snapshot_bytes(path: Path) -> bytes:
    """A snapshot's payload as pickled (uncompressed)."""
    return zlib.decompress(path.read_bytes().partition(b"\n")[2])

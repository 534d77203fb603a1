"""Functions do not block each other on the local bus (issue 16): while an agency's webhook
receiver accepts connections and never answers, citizen and agency routes keep answering and
the other consumers keep delivering, as each Lambda function runs on its own in AWS."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from schemas.events import SUBMITTED
from tests.support.tokens import KEYS
from tests.support.webhooks import file

HANG_SECONDS = 8  # the webhook timeout the hanging receiver runs into


class Hanging:
    """A receiver that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            self.connected.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    receiver = Hanging()
    yield receiver
    receiver.close()


def test_routes_and_other_consumers_go_on_while_a_webhook_hangs(hanging: Hanging) -> None:
    env = {"WEBHOOK_TIMEOUT_SECONDS": str(HANG_SECONDS), "WEBHOOK_ATTEMPTS": "1"}
    with LocalBus(env=env) as bus:
        subscribed = bus.request(
            "PUT",
            "/agency/v1/subscriptions",
            headers=KEYS["streets"],
            json_body={"url": hanging.url, "types": [SUBMITTED]},
        )
        assert subscribed.status == 200, subscribed.text
        stop = threading.Event()
        workers = threading.Thread(target=bus.run_workers, args=(stop, 0.05), daemon=True)
        workers.start()
        try:
            file(bus, "street-damage", {"address": "Storgatan 1"})
            assert hanging.connected.wait(30), "the webhook delivery never reached the receiver"
            hung_at = time.monotonic()
            # The delivery function now waits on the receiver; everything else goes on.
            timings = []
            for path in ["/healthz", "/open311/v2/requests.json", "/open311/v2/services.json"] * 10:
                started = time.perf_counter()
                answer = bus.request("GET", path)
                timings.append(time.perf_counter() - started)
                assert answer.status == 200, (path, answer.text)
            second = file(bus, "street-damage", {"address": "Kungsgatan 2"})
            reached = _wait_for(bus, agency_queue("streets"), second, timeout=HANG_SECONDS)
            still_hanging = time.monotonic() - hung_at < HANG_SECONDS
        finally:
            stop.set()
            workers.join(HANG_SECONDS * 3)
    p99 = sorted(timings)[int(len(timings) * 0.99) - 1]
    print(
        f"while a webhook hangs: {len(timings)} GETs, median "
        f"{statistics.median(timings) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )
    assert still_hanging, "the machine was too slow to observe the hang; the figures mean little"
    assert p99 < 1.0
    assert reached, "a request filed during the hang did not reach its agency's queue"


def _wait_for(bus: LocalBus, queue: str, reference: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(m["detail"]["subject"] == reference for m in bus.queue_messages(queue)):
            return True
        time.sleep(0.05)
    return False

"""AWS calls and CPU per notification, by kind of message (issue 16, part N).

Four kinds, each sent through the local bus as a citizen would cause it: the receipt of an
e-service filing by SMS to a confirmed number, the confirmation e-mail to an unconfirmed
address, a status update by e-mail, and the resolution with its verdict question. Only the
notifier's own calls are counted (``bench.awscalls``), per message that reached it; CPU is
the notifier's thread time per invocation, averaged over ``--rounds`` messages of each kind.

    python -m bench.notifier_calls [--rounds 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.awscalls import AwsCalls
from citizenbus.local.outbox import collect
from citizenbus.local.runtime import LocalBus
from functions.domain.citizens import contacts
from functions.platform import process

KINDS = ("receipt_sms", "confirm_email", "status_email", "verdict_email")
NOTIFIER = "notifier"


_filed = [0]


def _file(bus: LocalBus, **fields: str) -> str:
    _filed[0] += 1  # a new place each time (the same hole twice is a "me too")
    body = {"address": f"Benchgatan {_filed[0]}", **fields}
    response = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)
    assert response.status == 201, response.text
    return str(response.json()["reference"])


def _status(bus: LocalBus, reference: str, status: str) -> None:
    response = bus.request(
        "POST",
        f"/agency/v1/requests/{reference}/status",
        headers={"Authorization": "Bearer local-streets-key"},
        json_body={"status": status},
    )
    assert response.status == 200, response.text


class _Meter:
    """The notifier's AWS calls and thread CPU while ``kind`` is being measured."""

    def __init__(self, bus: LocalBus) -> None:
        self.calls = AwsCalls()
        self.calls.install()
        process.inject(twilio_http_client=bus.twilio)  # install() forgot the bus's Twilio
        self.kind: str | None = None
        self.ops: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
        self.cpu: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        self.messages: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()  # what reached the outbox (SMS, e-mail, push)
        original = bus.invoke

        def invoke(function: str, event: dict[str, Any]) -> Any:
            if function != NOTIFIER or self.kind is None:
                with self.calls.invoking(function):
                    return original(function, event)
            self.calls.calls.clear()
            started = time.thread_time()
            with self.calls.invoking(function):
                answer = original(function, event)
            self.cpu[self.kind] += time.thread_time() - started
            self.messages[self.kind] += len(event.get("Records") or [])
            self.ops[self.kind].update(
                f"{s}.{o}" for fn, s, o, _ in self.calls.calls if fn == NOTIFIER
            )
            return answer

        bus.invoke = invoke  # type: ignore[method-assign]

    def during(self, kind: str, bus: LocalBus, cause: Callable[[], object]) -> None:
        bus.pump()  # anything earlier is not this kind's
        before = len(collect(bus))
        cause()
        self.kind = kind
        try:
            bus.pump()
        finally:
            self.kind = None
        self.sent[kind] += len(collect(bus)) - before


def measure(rounds: int = 20) -> dict[str, Any]:
    """Per kind: AWS calls per message (by operation) and notifier CPU ms per message."""
    with LocalBus() as bus:
        meter = _Meter(bus)
        for n in range(rounds):
            phone = f"+4670{n:07d}"
            contacts.confirm("phone", phone, "bench:earlier")
            meter.during(
                "receipt_sms",
                bus,
                partial(_file, bus, phone=phone, notify_by="sms", consent="true"),
            )
            email = f"bench{n}@example.se"
            filing = partial(_file, bus, email=email, notify_by="email", consent="true")
            meter.during("confirm_email", bus, filing)
            contacts.confirm("email", email, "bench:earlier")
            reference = filing()  # the address confirmed now: no confirmation, a receipt
            meter.during("status_email", bus, partial(_status, bus, reference, "in_progress"))
            meter.during("verdict_email", bus, partial(_status, bus, reference, "resolved"))
    result: dict[str, Any] = {}
    for kind in KINDS:
        messages = max(meter.messages[kind], 1)
        ops = {op: n / messages for op, n in sorted(meter.ops[kind].items())}
        result[kind] = {
            "messages": meter.messages[kind],
            "sent": meter.sent[kind],
            "calls": sum(ops.values()),
            "operations": ops,
            "cpu_ms": 1000 * meter.cpu[kind] / messages,
        }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.rounds)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'kind':<15} {'msgs':>5} {'sent':>5} {'calls':>6} {'cpu ms':>7}  calls per message")
    for kind, row in result.items():
        ops = ", ".join(f"{op} {n:g}" for op, n in row["operations"].items())
        counts = f"{row['messages']:>5} {row['sent']:>5} {row['calls']:>6.1f}"
        print(f"{kind:<15} {counts} {row['cpu_ms']:>7.1f}  {ops}")


if __name__ == "__main__":
    main()

"""A whole journey under faults: nothing lost, nothing doubled.

Requests are filed on every channel (SMS, a phone call, the app, the web e-service, Open311)
while DynamoDB throttles, EventBridge fails some PutEvents entries, SQS delivers messages
again, agencies' webhooks time out or answer 5xx, Twilio answers 429/5xx, SES throttles and
handlers crash part-way through their batches, each at ``FAULT_RATE``. The agencies then move
every request to ``in_progress`` and ``resolved``. The bus is pumped (and its dead-letter
queues redriven) until it is quiet; then every request must be on its agency's queue and
webhook, every status change must have reached its citizen exactly once, and no citizen may
have seen a 5xx. The figures are printed (``pytest -s``) and kept in the README.

``CITIZENBUS_FAULT_REQUESTS`` sets the number of requests: 100 in ``make test``, 1000 in
``make soak`` (the emulated AWS costs about 14 ms a call, and a request makes some 55 calls
under these faults).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import ACCOUNT, REGION, LocalBus
from functions.domain.agencies.routing import (
    agency_queue,
    delivery_dlq,
    delivery_queue,
    function_dlq,
)
from schemas.events import STATUS_CHANGED, SUBMITTED
from tests.support.contacts import confirmed, linked
from tests.support.faults import (
    Clock,
    Faults,
    FlakyReceiver,
    crash_mid_batch,
    install_aws_faults,
    install_twilio_faults,
)
from tests.support.tokens import auth
from tests.support.twilio import Call, reference_said

FAULT_RATE = 0.3
SEED = 20261122
REQUESTS = int(os.environ.get("CITIZENBUS_FAULT_REQUESTS", "100"))
CHANNELS = ("sms", "voice", "app", "eservice", "open311")
AGENCY_OF = {
    "street-damage": "streets",
    "missed-waste-collection": "waste",
    "tax-return-approve": "tax",
}
SUBSCRIBED = ("streets", "waste")  # "tax" takes its events from its queue only
# What each channel's citizen hears: SMS and phone and app answered at once (no receipt).
RECEIPT = {"sms": 0, "voice": 0, "app": 0, "eservice": 1, "open311": 1}
STATUSES = ("in_progress", "resolved")
# How the verdict question after ``resolved`` begins, in every language (asked once at most).
VERDICT_QUESTIONS = tuple(
    json.loads(pack.read_text(encoding="utf-8"))["notify"]["verdict_sms"].split("{")[0]
    for pack in (Path(__file__).parents[2] / "functions/platform/languages").glob("*.json")
)
ENV = {"WEBHOOK_TIMEOUT_SECONDS": "0.1"}
REFERENCE = re.compile(r"\b\d{8,12}\b")


@dataclass
class Journey:
    bus: LocalBus
    faults: Faults
    clock: Clock
    filed: dict[str, str] = field(default_factory=dict)  # reference → channel
    answers: Counter[int] = field(default_factory=Counter)  # HTTP status → count (citizens)
    resent: int = 0  # citizens' channels sending again after an error answer
    redriven: Counter[str] = field(default_factory=Counter)
    seen: dict[str, Counter[str]] = field(default_factory=dict)  # function → record → times

    # -- the citizens ------------------------------------------------------------------------
    def answer(self, status: int) -> int:
        self.answers[status] += 1
        return status

    def file(self, n: int) -> str:
        channel = CHANNELS[n % len(CHANNELS)]
        filer = getattr(self, f"file_{channel}")
        for _ in range(5):  # what a client (or Twilio) does: send the same thing again
            reference: str | None = filer(n)
            if reference:
                self.filed[reference] = channel
                return reference
            self.resent += 1
        raise AssertionError(f"request {n} on {channel} could not be filed")

    def file_sms(self, n: int) -> str | None:
        params = getattr(self, "_sms", {}).get(n) or sms_params(phone(n), f"GATA Storgatan {n}")
        self.__dict__.setdefault("_sms", {})[n] = params  # a retry keeps its MessageSid
        response = twilio_request(self.bus, "/channels/sms", params)
        if self.answer(response.status) != 200:
            return None
        match = REFERENCE.search(response.text)
        return match.group(0) if match else None

    def file_voice(self, n: int) -> str | None:
        call = Call(self.bus, phone(n))  # asserts that every step answers 200 with TwiML
        call.press("2")  # English
        call.press("3")  # missed waste collection
        call.speak(f"Sopvägen {n}")
        call.press("1")  # send
        self.answer(200)
        return reference_said(call)

    def file_app(self, n: int) -> str | None:
        sub = f"app-citizen-{n}"
        prefs = {"notify_by": "sms", "phone": phone(n), "language": "en", "consent": True}
        saved = self.bus.request(
            "PUT", "/app/v1/me/preferences", headers=auth(sub), json_body=prefs
        )
        if self.answer(saved.status) != 200:
            return None
        key = self.__dict__.setdefault("_keys", {}).setdefault(n, str(uuid.uuid4()))
        body = {"service_code": "tax-return-approve", "attributes": {"personal_code": f"{n:08d}"}}
        headers = auth(sub) | {"Idempotency-Key": key}
        response = self.bus.request("POST", "/app/v1/requests", headers=headers, json_body=body)
        if self.answer(response.status) != 201:
            return None
        return str(response.json()["reference"])

    def file_eservice(self, n: int) -> str | None:
        key = self.__dict__.setdefault("_keys", {}).setdefault(n, str(uuid.uuid4()))
        body = {
            "address": f"Storgatan {n}",
            "email": f"citizen{n}@example.se",
            "notify_by": "email",
            "consent": "true",
            "submission_id": key,
        }
        response = self.bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)
        if self.answer(response.status) != 201:
            return None
        return str(response.json()["reference"])

    def file_open311(self, n: int) -> str | None:
        key = self.__dict__.setdefault("_keys", {}).setdefault(n, str(uuid.uuid4()))
        form = {
            "api_key": "local-open311-key",
            "service_code": "missed-waste-collection",
            "address_string": f"Sopvägen {n}",
            "email": f"open311-{n}@example.se",
        }
        response = self.bus.request(
            "POST",
            "/open311/v2/requests.json",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": key},
            body=urlencode(form),
        )
        if self.answer(response.status) != 201:
            return None
        return str(response.json()[0]["service_request_id"])

    # -- the agencies --------------------------------------------------------------------------
    def change(self, reference: str, status: str) -> None:
        agency = self.agency(reference)
        for _ in range(5):
            response = self.bus.request(
                "POST",
                f"/agency/v1/requests/{reference}/status",
                headers={"Authorization": f"Bearer local-{agency}-key"},
                json_body={"status": status},
            )
            if response.status == 200:
                return
            assert response.status >= 500, response.text  # a refusal would be a bug
            self.resent += 1
        raise AssertionError(f"{reference} could not be moved to {status}")

    def agency(self, reference: str) -> str:
        channel = self.filed[reference]
        return {
            "sms": "streets",
            "voice": "waste",
            "app": "tax",
            "eservice": "streets",
            "open311": "waste",
        }[channel]

    # -- the bus -------------------------------------------------------------------------------
    def settle(self) -> None:
        """Pump until nothing moves; let visibility timeouts pass; redrive the DLQs."""
        for _ in range(200):
            self.bus.pump(max_rounds=200)
            if self.redrive():
                continue
            if not self.in_flight():
                return
            self.clock.advance(3600)  # backoffs and visibility timeouts run out
        raise AssertionError("the bus did not settle")

    def queues(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[ACCOUNT][REGION].queues

    def in_flight(self) -> int:
        queues = self.queues()
        names = [q for q, _ in self.bus.queue_consumers]
        return sum(len(queues[q]._messages) for q in names) + sum(
            len(s.pending) for s in self.bus.streams
        )

    def redrive(self) -> int:
        """What an operator does with each dead-letter queue; the number of messages moved."""
        sqs = boto3.client("sqs")
        moved = 0
        # Webhook deliveries: the product's redrive function.
        result = self.bus.invoke("redrive", {})
        for agency, count in result["moved"].items():
            self.redriven[f"delivery-{agency}"] += count
            moved += count
        # The notifier's DLQ: SQS's own DLQ redrive (StartMessageMoveTask in AWS).
        source, target = (
            self.bus.queue_urls[function_dlq("notifier")],
            self.bus.queue_urls["citizenbus-notifier"],
        )
        moved += self._move(
            sqs,
            source,
            lambda m: sqs.send_message(QueueUrl=target, MessageBody=m["Body"]),
            "notifier",
        )
        # The outbox stream's on-failure queue: the product's redrive publishes them again.
        outbox = self.bus.invoke("redrive", {"outbox": True})["outbox"]
        self.redriven["outbox"] += outbox["parked"]
        moved += outbox["parked"]
        return moved

    def _move(self, sqs: Any, url: str, send: Any, name: str) -> int:
        moved = 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
            ).get("Messages", [])
            if not messages:
                return moved
            for message in messages:
                try:
                    send(message)
                except Exception:
                    return moved
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
                self.redriven[name] += 1


def phone(n: int) -> str:
    return f"+4670{n:07d}"


def count_records(bus: LocalBus, function: str, seen: dict[str, Counter[str]]) -> None:
    """Count how often each record reaches ``function`` (redeliveries and retries)."""
    original = bus.handlers[function]
    counter = seen.setdefault(function, Counter())

    def counting(event: dict[str, Any], context: Any) -> Any:
        for record in event.get("Records") or []:
            key = record.get("messageId") or record.get("dynamodb", {}).get("SequenceNumber")
            if key is None:  # a redriven message has a new id: count its body
                key = json.dumps(record, sort_keys=True)
            counter[key] += 1
        return original(event, context)

    bus.handlers[function] = counting


def agency_events(bus: LocalBus, agency: str) -> list[dict[str, Any]]:
    return [m["detail"] for m in bus.queue_messages(agency_queue(agency))]


def sent_notifications(bus: LocalBus) -> list[tuple[str, str, str]]:
    """(channel, to, body) of every SMS and e-mail that left (the providers' own records)."""
    from moto.ses.models import ses_backends

    sent = [("sms", m["to"], m["body"]) for m in bus.twilio.sent]
    for mail in ses_backends[ACCOUNT][REGION].sent_messages:
        to = (
            mail.destinations.get("ToAddresses", [])
            if isinstance(mail.destinations, dict)
            else mail.destinations
        )
        sent.append(("email", ", ".join(to), str(getattr(mail, "body", ""))))
    return sent


def test_a_whole_journey_under_faults_loses_nothing_and_doubles_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    faults, clock = Faults(FAULT_RATE, SEED), Clock()
    receiver = FlakyReceiver(faults)
    with LocalBus(env=ENV) as bus:
        journey = Journey(bus, faults, clock)
        for agency in SUBSCRIBED:
            subscribed = bus.request(
                "PUT",
                "/agency/v1/subscriptions",
                headers={"Authorization": f"Bearer local-{agency}-key"},
                json_body={"url": receiver.url(f"/{agency}"), "types": [SUBMITTED, STATUS_CHANGED]},
            )
            assert subscribed.status == 200, subscribed.text
        # The citizens confirmed their typed contacts earlier (the contract: nothing but one
        # confirmation reaches an unconfirmed contact); the faults here are the bus's own.
        for n in range(REQUESTS):
            confirmed(phone=phone(n), email=f"citizen{n}@example.se")
            confirmed(email=f"open311-{n}@example.se")
            linked(f"app-citizen-{n}", phone=phone(n))  # the app's notification phone
        clock.install(monkeypatch)
        install_aws_faults(faults, bus)
        install_twilio_faults(faults, bus.twilio)
        for function in ("outbox_publisher", "notifier", "webhook_delivery"):
            crash_mid_batch(bus, function, faults)
            count_records(bus, function, journey.seen)

        for start in range(0, REQUESTS, 50):
            for n in range(start, min(start + 50, REQUESTS)):
                journey.file(n)
            journey.settle()
        for status in STATUSES:
            for reference in list(journey.filed):
                journey.change(reference, status)
                if len(journey.filed) > 50 and list(journey.filed).index(reference) % 50 == 49:
                    journey.settle()
            journey.settle()
        journey.settle()
        receiver.close()
        report = figures(journey, receiver, time.monotonic() - started)
        print(json.dumps(report, indent=2))
        out = Path(__file__).resolve().parents[2] / "test-output" / f"faults-{REQUESTS}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        check(journey, receiver)


def expected_events(journey: Journey) -> dict[str, set[tuple[str, str]]]:
    """Per agency: the (reference, what) each must get: submitted and every status change."""
    wanted: dict[str, set[tuple[str, str]]] = {}
    for reference in journey.filed:
        agency = journey.agency(reference)
        wanted.setdefault(agency, set()).update(
            {(reference, "submitted")} | {(reference, s) for s in STATUSES}
        )
    return wanted


def what(event: dict[str, Any]) -> tuple[str, str]:
    kind = "submitted" if event["type"] == SUBMITTED else event["data"]["status"]
    return event["subject"], kind


def check(journey: Journey, receiver: FlakyReceiver) -> None:
    bus = journey.bus
    assert len(journey.filed) == REQUESTS, "a request was filed twice or not at all"
    assert not [s for s in journey.answers if s >= 500], journey.answers  # no citizen saw a 5xx
    wanted = expected_events(journey)
    for agency, expected in wanted.items():
        events = agency_events(bus, agency)
        by_id: dict[str, tuple[str, str]] = {e["id"]: what(e) for e in events}
        got = Counter(by_id.values())  # distinct CloudEvents per (reference, what)
        assert set(got) == expected, f"{agency}: lost {len(expected - set(got))}"
        assert max(got.values()) == 1, f"{agency}: a change announced as two events"
    # Webhooks: every event of a subscribed agency accepted once (receivers dedupe on webhook-id).
    accepted = Counter(receiver.accepted)
    for agency in SUBSCRIBED:
        ids = {e["id"] for e in agency_events(bus, agency)}
        delivered = {i for p, i in accepted if p == f"/{agency}"}
        assert delivered == ids, f"{agency}: {len(ids - delivered)} webhooks not delivered"
    assert max(accepted.values()) == 1, "an event was POSTed and accepted twice"
    # Notifications: one per status change (and per receipt), never two.
    per_reference: Counter[str] = Counter()
    bodies: Counter[tuple[str, str]] = Counter()
    verdicts: Counter[str] = Counter()
    for _, to, body in sent_notifications(bus):
        match = REFERENCE.search(body)
        assert match, body
        is_question = "/verdict/" in body or any(body.startswith(q) for q in VERDICT_QUESTIONS)
        (verdicts if is_question else per_reference)[match.group(0)] += 1
        bodies[(to, body)] += 1
    assert max(verdicts.values(), default=1) == 1, "the verdict was asked twice"
    for reference, channel in journey.filed.items():
        assert per_reference[reference] == len(STATUSES) + RECEIPT[channel], (
            reference,
            channel,
            per_reference[reference],
        )
    assert max(bodies.values()) == 1, "a citizen got the same message twice"
    for queue in [q for q, _ in bus.queue_consumers] + [
        function_dlq("notifier"),
        "citizenbus-outbox-dlq",
    ]:
        assert not journey.queues()[queue]._messages, f"{queue} not empty"
    for agency in AGENCY_OF.values():
        assert not journey.queues()[delivery_dlq(agency)]._messages
        assert not journey.queues()[delivery_queue(agency)]._messages


def figures(journey: Journey, receiver: FlakyReceiver, seconds: float) -> dict[str, Any]:
    bus = journey.bus
    queue_events = {a: agency_events(bus, a) for a in set(AGENCY_OF.values())}
    notified = sent_notifications(bus)
    return {
        "requests_filed": len(journey.filed),
        "by_channel": dict(Counter(journey.filed.values())),
        "citizen_answers": dict(journey.answers),
        "citizen_resends": journey.resent,
        "agency_queue_messages": sum(len(v) for v in queue_events.values()),
        "agency_queue_distinct_events": sum(
            len({e["id"] for e in v}) for v in queue_events.values()
        ),
        "webhooks_accepted": len(receiver.accepted),
        "notifications_sent": len(notified),
        "notifications_by_channel": dict(Counter(c for c, _, _ in notified)),
        "faults": dict(sorted(journey.faults.counts.items())),
        "records_handled": {f: sum(c.values()) for f, c in journey.seen.items()},
        "records_retried": {f: sum(c.values()) - len(c) for f, c in journey.seen.items()},
        "redriven_from_dlq": dict(journey.redriven),
        "backoff_sleeps": journey.clock.sleeps,
        "virtual_seconds": round(journey.clock.offset),
        "wall_seconds": round(seconds, 1),
    }

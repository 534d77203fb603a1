"""Prove the wiring can fail: remove each grant and each environment variable of each function
in the template's wiring (citizenbus/local/wiring.json), one at a time, and show that a journey
through the local bus then fails (mutation testing of the wiring).

Running the whole suite per mutation would take hours, so each function is checked by a few
**journeys**: end-to-end checks a user would notice (file by e-service, app, SMS, phone and
Open311 and see the request reach the agency's queue; web receipt and status look-up with a
code; an agency's status change texting and e-mailing the citizen; a webhook delivered and
signed; the open-data stats and export; the SLA monitor; erasure; both redrives; the health
check). Which journeys exercise a function is measured, not declared: the unmutated bus runs
every journey once and records which functions each one invoked.

One bus serves every mutation: :meth:`LocalBus.rewire` gives the mutated function its changed
environment or role and a cold start, and puts the original back afterwards.

Granularity: a **grant is one policy statement** (after merging identical copies, which CDK
emits when two grants share a resource, e.g. the table key's KMS statement for every table).
A statement is what one CDK ``grant*`` call adds; removing single actions out of it would ask
a different question (is the grant the least privilege?), which this test does not answer.
The statements Lambda's runtime uses (``logs:`` and ``xray:``) are left out: the local bus
does not exercise them (:data:`RUNTIME_ACTIONS`).

The local bus's resource names are the prod stack's, which are also the code's defaults
(``REQUESTS_TABLE`` defaults to ``citizenbus-requests``), so a removed name would go unnoticed
locally while the dev stack (``citizenbus-dev-requests``) would use prod's table. During the
run a name that a function's environment does not set is therefore given a value no resource
has (:func:`as_deployed`).

A mutation that no journey catches fails the test unless ``tests/wiring_mutations_allowed.toml``
lists it with the reason it is harmless (or cannot be exercised locally).
``python -m tests.support.wiring_mutations`` prints the table and writes
``tests/wiring_mutations.md``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import sys
import threading
import time
import tomllib
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3

from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import ACCOUNT, DEFAULT_OPEN311_KEY, REGION, LocalBus
from functions.domain.agencies.routing import agency_queue, delivery_dlq, delivery_queue
from functions.platform import process, secrets
from functions.platform.settings import Settings
from schemas.events import STATUS_CHANGED, SUBMITTED
from tests.support.contacts import confirmed, link
from tests.support.tokens import KEYS, auth
from tests.support.twilio import Call, reference_said
from tests.support.webhooks import FAST

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_FILE = ROOT / "tests" / "wiring_mutations_allowed.toml"
REPORT_FILE = ROOT / "tests" / "wiring_mutations.md"
RUNTIME_ACTIONS = ("logs:", "xray:")  # Lambda's runtime writes logs and traces with these
OUTBOX_DLQ = "citizenbus-outbox-dlq"
JSON = {"Accept": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# -- the mutations ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutation:
    function: str
    kind: str  # "env" or "grant"
    target: str  # the variable's name, or the statement's label
    statement: str = ""  # the statement (JSON, sorted keys) for a grant

    @property
    def id(self) -> str:
        return f"{self.function}: {self.kind} {self.target}"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def _resource_label(value: Any) -> str:
    """A template reference as a short, stable name (logical ids without CDK's hash)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_resource_label(v) for v in value)
    if isinstance(value, dict):
        if "Ref" in value:
            return re.sub(r"[0-9A-F]{8}$", "", value["Ref"])
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            name = re.sub(r"[0-9A-F]{8}$", "", logical)
            return name if attribute == "Arn" else f"{name}.{attribute}"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(_resource_label(p) for p in parts)
        if "Fn::Sub" in value:
            return str(value["Fn::Sub"])
    return json.dumps(value, sort_keys=True)


def statement_label(statement: dict[str, Any]) -> str:
    """``dynamodb:BatchGetItem+9 on DataTablerequests, DataTablerequests/index/*``."""
    actions = _actions(statement)
    shown = actions[0] + (f"+{len(actions) - 1}" if len(actions) > 1 else "")
    condition = " (conditional)" if "Condition" in statement else ""
    return f"{shown} on {_resource_label(statement.get('Resource', '*'))}{condition}"


def is_runtime(statement: dict[str, Any]) -> bool:
    return all(a.startswith(RUNTIME_ACTIONS) for a in _actions(statement))


def mutations(wired: dict[str, Any]) -> list[Mutation]:
    """Every single removal: each variable and each distinct non-runtime statement."""
    found: list[Mutation] = []
    for name, fn in sorted(wired["functions"].items()):
        for variable in sorted(fn["environment"]):
            found.append(Mutation(name, "env", variable))
        seen: set[str] = set()
        for statement in fn["statements"]:
            key = json.dumps(statement, sort_keys=True)
            if key in seen or is_runtime(statement):
                continue
            seen.add(key)
            found.append(Mutation(name, "grant", statement_label(statement), key))
    return found


def runtime_statements(wired: dict[str, Any]) -> list[str]:
    """The statements left out (Lambda's runtime), as labels."""
    return sorted(
        {
            statement_label(s)
            for fn in wired["functions"].values()
            for s in fn["statements"]
            if is_runtime(s)
        }
    )


@contextmanager
def applied(bus: LocalBus, mutation: Mutation) -> Iterator[None]:
    """The bus with ``mutation`` applied to one function; the original back afterwards."""
    fn = bus.wiring["functions"][mutation.function]
    environment = dict(bus.function_env[mutation.function])
    statements = fn["statements"]
    if mutation.kind == "env":
        bus.rewire(
            mutation.function,
            environment={k: v for k, v in environment.items() if k != mutation.target},
        )
    else:
        kept = [s for s in statements if json.dumps(s, sort_keys=True) != mutation.statement]
        bus.rewire(mutation.function, statements=kept)
    try:
        yield
    finally:
        bus.rewire(mutation.function, environment=environment, statements=statements)


@contextmanager
def as_deployed() -> Iterator[None]:
    """Settings whose default is a resource's prod name (a table, the bus, the bucket, the
    KMS alias, the sender address) get a name no resource has when the environment does not
    set them: what the dev stack would see, where the defaults name prod's resources. Only
    inside a function's sandbox: the bus's own provisioning keeps the defaults."""
    original = Settings.__dict__["from_env"]
    named = [
        f for f in fields(Settings) if isinstance(f.default, str) and "citizenbus" in f.default
    ]

    def from_env(cls: type[Settings], env: Any) -> Settings:
        settings: Settings = original.__func__(cls, env)
        if not process.current():  # the bus itself and the test harness: the defaults
            return settings
        unset = {
            f.name: f"unset-{f.metadata['env'].lower().replace('_', '-')}"
            for f in named
            if env.get(f.metadata["env"]) is None
        }
        return replace(settings, **unset) if unset else settings

    read_secret = secrets.value

    def value(name: Any) -> str:
        if process.current() and not secrets.arn_of(name):
            raise secrets.MissingSecret(f"{name}: no secret ARN in this function's environment")
        return read_secret(name)

    Settings.from_env = classmethod(from_env)  # type: ignore[method-assign, assignment]
    secrets.value = value
    try:
        yield
    finally:
        Settings.from_env = original  # type: ignore[method-assign]
        secrets.value = read_secret


# -- the journeys -------------------------------------------------------------------------------
class Receiver:
    """An agency's webhook endpoint on 127.0.0.1 that accepts every POST."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"] or 0)))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class World:
    """What the journeys share: the bus, the webhook receiver, fresh citizens."""

    bus: LocalBus
    receiver: Receiver
    serial: int = 0

    def phone(self) -> tuple[str, str]:
        """A citizen's mobile number never used before: (as typed, E.164)."""
        self.serial += 1
        digits = f"{self.serial:07d}"
        return f"070{digits}", f"+4670{digits}"

    def email(self) -> str:
        self.serial += 1
        return f"citizen{self.serial}@example.se"

    def address(self, street: str = "Storgatan") -> str:
        """A place no other journey filed at (a second filing there would be a "me too")."""
        self.serial += 1
        return f"{street} {self.serial}"


def _queued(bus: LocalBus, agency: str) -> list[str]:
    return [m["detail"]["subject"] for m in bus.queue_messages(agency_queue(agency))]


def _address_of(world: World, reference: str) -> str:
    """The address a request was filed with (its submission sent again must match)."""
    from functions.domain.requests.store import RequestStore

    record = RequestStore().get(reference)
    assert record is not None, reference
    return str(record["attributes"]["address"])


def _eservice(world: World, service: str = "street-damage", **extra: str) -> str:
    if "phone" not in extra and "email" not in extra:
        extra = {"email": world.email(), "notify_by": "none", **extra}
    # a street number of its own: the same place again would be a "me too", not a filing
    body = {"address": world.address(), "description": "Djupt hål", **extra}
    response = world.bus.request("POST", f"/eservice/v1/forms/{service}", json_body=body)
    assert response.status == 201, response.text
    return str(response.json()["reference"])


def _status(world: World, reference: str, status: str, agency: str = "streets") -> None:
    """The agency changes the status, and its retry (the same Idempotency-Key) is answered
    the same without a second change."""
    headers = KEYS[agency] | {"Idempotency-Key": uuid.uuid4().hex}
    answers = [
        world.bus.request(
            "POST",
            f"/agency/v1/requests/{reference}/status",
            headers=headers,
            json_body={"status": status},
        )
        for _ in range(2)
    ]
    assert answers[0].status == 200, answers[0].text
    assert answers[1].status == 200 and answers[1].json() == answers[0].json(), answers[1].text


def _sent_to(world: World, to: str) -> list[str]:
    """The bodies of the texts and e-mails sent to ``to`` (read straight from the recording
    Twilio client and moto's SES: the outbox's look-ups per message grow with the run)."""
    from moto.ses.models import ses_backends

    bodies = [m["body"] for m in world.bus.twilio.sent if m["to"] == to]
    for mail in ses_backends[ACCOUNT][REGION].sent_messages:
        destinations = mail.destinations
        addresses = (
            destinations.get("ToAddresses", []) if isinstance(destinations, dict) else destinations
        )
        if to in addresses:
            bodies.append(str(getattr(mail, "body", "")))
    return bodies


def health(world: World) -> None:
    response = world.bus.request("GET", "/healthz")
    assert response.status == 200 and response.json() == {"status": "ok"}


def eservice_reaches_the_agency(world: World) -> None:
    typed, _ = world.phone()
    submission = {"phone": typed, "notify_by": "none", "submission_id": uuid.uuid4().hex}
    reference = _eservice(world, **submission)
    again = world.bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={
            "address": _address_of(world, reference),
            "description": "Djupt hål",
            **submission,
        },
    )
    assert again.status == 200 and again.json()["reference"] == reference, again.text
    world.bus.pump()
    assert reference in _queued(world.bus, "streets")


def app_files_and_lists(world: World) -> None:
    sub = f"citizen-{uuid.uuid4().hex[:8]}"
    citizen = auth(sub)
    _, phone = world.phone()
    link(world.bus, sub, phone=phone)  # the app takes only a phone its citizen proved
    prefs = {"notify_by": "sms", "phone": phone, "consent": True}
    saved = world.bus.request("PUT", "/app/v1/me/preferences", headers=citizen, json_body=prefs)
    assert saved.status == 200, saved.text
    body = {"service_code": "tax-return-approve", "attributes": {"personal_code": "12345678"}}
    keyed = citizen | {"Idempotency-Key": uuid.uuid4().hex}
    filed = world.bus.request("POST", "/app/v1/requests", headers=keyed, json_body=body)
    assert filed.status == 201, filed.text
    reference = filed.json()["reference"]
    again = world.bus.request("POST", "/app/v1/requests", headers=keyed, json_body=body)
    assert again.status in (200, 201) and again.json()["reference"] == reference, again.text
    listed = world.bus.request("GET", "/app/v1/requests", headers=citizen)
    assert [r["reference"] for r in listed.json()["requests"]] == [reference], listed.text
    one = world.bus.request("GET", f"/app/v1/requests/{reference}", headers=citizen)
    assert one.status == 200, one.text
    world.bus.pump()
    assert reference in _queued(world.bus, "tax")
    _status(world, reference, "in_progress", agency="tax")
    world.bus.pump()
    assert _sent_to(world, phone), "the app's linked number was not told"


def sms_files(world: World) -> None:
    _, phone = world.phone()
    params = sms_params(phone, f"GATA {world.address()} deep hole", f"SM{uuid.uuid4().hex}")
    response = twilio_request(world.bus, "/channels/sms", params)
    assert response.status == 200, response.text
    found = re.search(r"\b(\d{10})\b", response.text)
    assert "Tack!" in response.text and found, response.text
    world.bus.pump()
    assert found.group(1) in _queued(world.bus, "streets")


def sms_undelivered_falls_back_to_email(world: World) -> None:
    """A text that ends undelivered (Twilio's status callback) is sent again by e-mail: the
    SMS function hands it to the notifier's queue."""
    typed, phone = world.phone()
    email = world.email()
    confirmed(phone=phone, email=email)
    _eservice(world, phone=typed, email=email, notify_by="sms", consent="true", language="en")
    world.bus.pump()
    sids = [m["sid"] for m in world.bus.twilio.sent if m["to"] == phone]
    assert sids, "no receipt was texted"
    mails = len(_sent_to(world, email))
    params = {
        "MessageSid": sids[-1],
        "MessageStatus": "undelivered",
        "To": phone,
        "AccountSid": "AC00000000000000000000000000000000",
    }
    response = twilio_request(world.bus, "/channels/sms/status", params)
    assert response.status < 300, response.text
    world.bus.pump()
    assert len(_sent_to(world, email)) == mails + 1, "no e-mail after the undelivered text"


def sms_status_callback(world: World) -> None:
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "MessageStatus": "delivered",
        "AccountSid": "AC00000000000000000000000000000000",
    }
    response = twilio_request(world.bus, "/channels/sms/status", params)
    assert response.status < 300, response.text


def phone_call_files(world: World) -> None:
    _, phone = world.phone()
    call = Call(world.bus, caller=phone)
    call.press("2")
    call.press("1")
    call.press("12345678")
    call.press("1")
    reference = reference_said(call)
    world.bus.pump()
    assert reference in _queued(world.bus, "tax")


def open311_files_and_reads(world: World) -> None:
    fields = {
        "api_key": DEFAULT_OPEN311_KEY,
        "service_code": "street-damage",
        "address_string": world.address("Hamngatan"),
        "attribute[description]": "Trasig kantsten",
    }
    keyed = FORM | {"Idempotency-Key": uuid.uuid4().hex}
    posted = world.bus.request(
        "POST", "/open311/v2/requests.json", headers=keyed, body=urlencode(fields)
    )
    assert posted.status == 201, posted.text
    (answer,) = posted.json()
    reference = answer["service_request_id"]
    again = world.bus.request(
        "POST", "/open311/v2/requests.json", headers=keyed, body=urlencode(fields)
    )
    assert again.status == 200 and again.json()[0]["service_request_id"] == reference, again.text
    read = world.bus.request("GET", f"/open311/v2/requests/{reference}.json")
    assert read.status == 200 and reference in read.text, read.text
    token = world.bus.request("GET", f"/open311/v2/tokens/{answer['token']}.json")
    assert token.status == 200 and reference in token.text, token.text
    services = world.bus.request("GET", "/open311/v2/services.json")
    assert services.status == 200, services.text
    world.bus.pump()
    assert reference in _queued(world.bus, "streets")


def _new_lookup_window() -> None:
    """Every look-up comes from 127.0.0.1, which the look-up throttles (30 in 15 minutes):
    the harness starts a new window, as the minutes passing would."""
    client = boto3.client("dynamodb")
    found = client.scan(
        TableName="citizenbus-idempotency",
        FilterExpression="begins_with(id, :p)",
        ExpressionAttributeValues={":p": {"S": "ratelimit#lookup-client#"}},
    )["Items"]
    for item in found:
        client.delete_item(TableName="citizenbus-idempotency", Key={"id": item["id"]})


def web_receipt_and_status_code(world: World) -> None:
    _new_lookup_window()
    typed, phone = world.phone()
    confirmed(phone=phone)
    reference = _eservice(world, phone=typed, notify_by="none")
    form = world.bus.request("GET", "/forms/street-damage")
    assert form.status == 200, form.text
    receipt = world.bus.request("GET", f"/receipt/{reference}?service=street-damage")
    assert receipt.status == 200 and reference in receipt.text
    looked = world.bus.request(
        "POST", "/status", headers=JSON, json_body={"reference": reference, "contact": phone}
    )
    assert looked.status == 200 and looked.json()["status"] == "received", looked.text
    asked = world.bus.request(
        "POST", "/status/code", headers=JSON, json_body={"reference": reference, "contact": phone}
    )
    assert asked.status == 202, asked.text
    world.bus.pump()
    codes = [re.findall(r"\b(\d{6})\b", body) for body in _sent_to(world, phone)]
    assert codes and codes[-1], "no code was texted"
    code = codes[-1][0]
    full = world.bus.request(
        "POST",
        "/status",
        headers=JSON,
        json_body={"reference": reference, "contact": phone, "code": code},
    )
    assert full.status == 200 and "Storgatan " in full.text, full.text


def status_change_texts_and_emails(world: World) -> None:
    typed, phone = world.phone()
    email = world.email()
    confirmed(phone=phone, email=email)
    by_sms = _eservice(world, phone=typed, notify_by="sms", consent="true", language="en")
    by_mail = _eservice(world, email=email, notify_by="email", consent="on", language="en")
    world.bus.pump()
    got = world.bus.request("GET", f"/agency/v1/requests/{by_sms}", headers=KEYS["streets"])
    assert got.status == 200 and got.json()["reference"] == by_sms, got.text
    texts, mails = len(_sent_to(world, phone)), len(_sent_to(world, email))
    _status(world, by_sms, "in_progress")
    _status(world, by_mail, "in_progress")
    world.bus.pump()
    assert len(_sent_to(world, phone)) == texts + 1, "no text about the new status"
    assert len(_sent_to(world, email)) == mails + 1, "no e-mail about the new status"


def agency_subscribes(world: World) -> None:
    """The tax agency (re)subscribes a webhook (its signing secret is KMS-encrypted)."""
    response = world.bus.request(
        "PUT",
        "/agency/v1/subscriptions",
        headers=KEYS["tax"],
        json_body={"url": world.receiver.url("/tax"), "types": [STATUS_CHANGED]},
    )
    assert response.status == 200 and response.json()["secret"].startswith("whsec_"), response.text


def webhook_delivered(world: World) -> None:
    before = len(world.receiver.bodies)
    reference = _eservice(world, "missed-waste-collection")
    world.bus.pump()
    assert len(world.receiver.bodies) > before, "no webhook was delivered"
    assert any(reference.encode() in body for body in world.receiver.bodies[before:])


def open_data_stats(world: World) -> None:
    """The stats pages; with no export yet, the function computes and publishes one itself."""
    boto3.client("s3").delete_object(Bucket="citizenbus-open-data", Key="open-data/v1/stats.json")
    for path in ("/open-data/v1/stats.json", "/open-data/v1/stats.csv", "/open-data"):
        response = world.bus.request("GET", path)
        assert response.status == 200, (path, response.text)
    assert "rows" in world.bus.request("GET", "/open-data/v1/stats.json").json()


def open_data_export(world: World) -> None:
    s3 = boto3.client("s3")
    bucket = "citizenbus-open-data"
    s3.delete_object(Bucket=bucket, Key="open-data/v1/stats.json")
    world.bus.invoke("open_data_export", {})
    exported = s3.get_object(Bucket=bucket, Key="open-data/v1/stats.json")["Body"].read()
    assert "rows" in json.loads(exported)


def sla_monitor_flags_a_late_request(world: World) -> None:
    email = world.email()
    confirmed(email=email)
    reference = _eservice(world, email=email, notify_by="email", consent="on", language="en")
    world.bus.pump()
    late = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    boto3.client("dynamodb").update_item(
        TableName="citizenbus-requests",
        Key={"reference": {"S": reference}},
        UpdateExpression="SET expected_at = :e",
        ExpressionAttributeValues={":e": {"S": late.replace("+00:00", "Z")}},
    )
    before = len(_sent_to(world, email))
    result = world.bus.invoke("sla_monitor", {})
    assert result["flagged"] >= 1, result
    world.bus.pump()
    assert len(_sent_to(world, email)) == before + 1, "the citizen was not told"


def erasure_by_phone(world: World) -> None:
    typed, phone = world.phone()
    _eservice(world, phone=typed, notify_by="none")
    done = world.bus.invoke("erasure", {"phone": phone})
    assert done.get("erased", {}).get("requests") == 1, done
    items = boto3.client("dynamodb").scan(TableName="citizenbus-requests")["Items"]
    assert typed[1:] not in json.dumps(items)


def _drain(sqs: Any, queue: str) -> list[str]:
    """Take every message out of ``queue`` (the harness, as an operator would); the bodies."""
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        messages = got.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def redrive_webhook_dlqs(world: World) -> None:
    sqs = boto3.client("sqs")
    agencies = ("streets", "tax", "waste")
    for agency in agencies:
        _drain(sqs, delivery_dlq(agency))
        url = sqs.get_queue_url(QueueName=delivery_dlq(agency))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"parked": agency}))
    moved = world.bus.invoke("redrive", {})
    assert moved == {"moved": dict.fromkeys(agencies, 1)}, moved
    for agency in agencies:  # take them out again before the delivery worker sees them
        bodies = _drain(sqs, delivery_queue(agency))
        assert json.dumps({"parked": agency}) in bodies, (agency, bodies)


def redrive_the_outbox(world: World) -> None:
    bus = world.bus
    sqs = boto3.client("sqs")
    _drain(sqs, OUTBOX_DLQ)
    dlq = sqs.get_queue_url(QueueName=OUTBOX_DLQ)["QueueUrl"]
    reference = _eservice(world, notify_by="none")
    bus.pump()
    (stream,) = bus.streams
    shard, sequence = list(stream.positions.items())[-1]  # the newest shard read
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    pointer = {
        "requestContext": {"condition": "RetryAttemptsExhausted"},
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": sequence,
            "endSequenceNumber": sequence,
            "approximateArrivalOfFirstRecord": now,
            "approximateArrivalOfLastRecord": now,
            "batchSize": 1,
            "streamArn": stream.arn,
        },
    }
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(pointer))
    before = _queued(bus, "streets").count(reference)
    result = bus.invoke("redrive", {"outbox": True})["outbox"]
    assert result["parked"] == 1 and result["published"] == 1, result
    assert _queued(bus, "streets").count(reference) == before + 1


def _resolved(world: World, reference: str, agency: str = "streets") -> None:
    _status(world, reference, "in_progress", agency=agency)
    _status(world, reference, "resolved", agency=agency)
    world.bus.pump()


def _text(world: World, phone: str, body: str) -> str:
    response = twilio_request(
        world.bus, "/channels/sms", sms_params(phone, body, f"SM{uuid.uuid4().hex}")
    )
    assert response.status == 200, response.text
    return response.text


def verdict_by_sms_and_app(world: World) -> None:
    """After ``resolved`` the citizen is asked once (the notifier keeps the question); a digit
    by SMS answers it, and the app answers its own request's question."""
    _, phone = world.phone()
    found = re.search(r"\b(\d{10})\b", _text(world, phone, f"GATA {world.address()} hål"))
    assert found, "no reference in the SMS receipt"
    reference = found.group(1)
    world.bus.pump()
    _resolved(world, reference)
    assert reference in _sent_to(world, phone)[-1], "no question after resolved"
    assert "Tack för ditt svar" in _text(world, phone, "4")
    sub = f"citizen-{uuid.uuid4().hex[:8]}"
    citizen = auth(sub)
    body = {"service_code": "tax-return-approve", "attributes": {"personal_code": "12345678"}}
    filed = world.bus.request("POST", "/app/v1/requests", headers=citizen, json_body=body)
    assert filed.status == 201, filed.text
    in_app = filed.json()["reference"]
    world.bus.pump()
    _resolved(world, in_app, agency="tax")
    shown = world.bus.request("GET", f"/app/v1/requests/{in_app}", headers=citizen)
    assert shown.json().get("verdict_asked") is True, shown.text
    answered = world.bus.request(
        "POST", f"/app/v1/requests/{in_app}/verdict", headers=citizen, json_body={"score": 5}
    )
    assert answered.status == 200 and answered.json()["score"] == 5, answered.text


def email_verdict_and_web_reopen(world: World) -> None:
    """The e-mail after ``resolved`` carries one-tap answer links (the web answers them); a
    low score, then the web status page (after its one-time code) reopens the request and the
    agency hears of it."""
    _new_lookup_window()
    email = world.email()
    confirmed(email=email)
    reference = _eservice(world, email=email, notify_by="email", consent="on", language="en")
    world.bus.pump()
    _resolved(world, reference)
    links = [
        link
        for body in _sent_to(world, email)
        for link in re.findall(r"https?://[^/\s]+(/(?:en/)?verdict/[^\s?]+\?score=2)", body)
    ]
    assert links, "no verdict link e-mailed after resolved"
    tapped = world.bus.request("GET", links[-1])
    assert tapped.status == 200 and "Thank you" in tapped.text, tapped.text
    asked = world.bus.request(
        "POST", "/status/code", headers=JSON, json_body={"reference": reference, "contact": email}
    )
    assert asked.status == 202, asked.text
    world.bus.pump()
    codes = [re.findall(r"\b(\d{6})\b", body) for body in _sent_to(world, email)]
    assert codes and codes[-1], "no code was e-mailed"
    looked = world.bus.request(
        "POST",
        "/status",
        headers=JSON,
        json_body={"reference": reference, "contact": email, "code": codes[-1][0]},
    )
    token = looked.json().get("reopen_token")
    assert looked.status == 200 and token, looked.text
    before = _queued(world.bus, "streets").count(reference)
    reopened = world.bus.request(
        "POST",
        "/status/reopen",
        headers=JSON,
        json_body={"reference": reference, "token": token, "note": "Still there"},
    )
    assert reopened.status == 200, reopened.text
    world.bus.pump()
    assert _queued(world.bus, "streets").count(reference) > before, "the agency was not told"


def me_too_by_form_and_open311(world: World) -> None:
    """A second and a third citizen report the same door (e-service, Open311): they follow the
    open request instead of filing again."""
    place = world.address()
    first = {"address": place, "email": world.email(), "notify_by": "none"}
    filed = world.bus.request("POST", "/eservice/v1/forms/street-damage", json_body=first)
    assert filed.status == 201, filed.text
    reference = filed.json()["reference"]
    again = {"address": place, "email": world.email(), "notify_by": "none"}
    second = world.bus.request("POST", "/eservice/v1/forms/street-damage", json_body=again)
    assert second.status == 200 and second.json()["duplicate_of"] == reference, second.text
    fields = {
        "api_key": DEFAULT_OPEN311_KEY,
        "service_code": "street-damage",
        "address_string": place,
        "email": world.email(),
    }
    third = world.bus.request(
        "POST", "/open311/v2/requests.json", headers=FORM, body=urlencode(fields)
    )
    assert third.status == 200 and third.json()[0]["service_request_id"] == reference, third.text
    read = world.bus.request("GET", f"/open311/v2/requests/{reference}.json")
    assert read.json()[0]["supporters"] == 2, read.text


JOURNEYS: list[Callable[[World], None]] = [
    health,
    eservice_reaches_the_agency,
    app_files_and_lists,
    sms_files,
    sms_undelivered_falls_back_to_email,
    sms_status_callback,
    phone_call_files,
    open311_files_and_reads,
    web_receipt_and_status_code,
    status_change_texts_and_emails,
    agency_subscribes,
    webhook_delivered,
    open_data_stats,
    open_data_export,
    sla_monitor_flags_a_late_request,
    erasure_by_phone,
    redrive_webhook_dlqs,
    redrive_the_outbox,
    verdict_by_sms_and_app,
    email_verdict_and_web_reopen,
    me_too_by_form_and_open311,
]

# The journeys that check each function's work, cheapest first (the run verifies that each
# does invoke the function). A journey that merely passes through a function (every filing
# passes the outbox publisher) is not listed for it: one is enough there.
CHECKS: dict[str, list[Callable[[World], None]]] = {
    "health": [health],
    "eservice": [
        eservice_reaches_the_agency,
        status_change_texts_and_emails,
        me_too_by_form_and_open311,
    ],
    "app_api": [app_files_and_lists, verdict_by_sms_and_app],
    "sms": [
        sms_status_callback,
        sms_files,
        sms_undelivered_falls_back_to_email,
        verdict_by_sms_and_app,
    ],
    "voice": [phone_call_files],
    "open311": [open311_files_and_reads, me_too_by_form_and_open311],
    "web": [web_receipt_and_status_code, email_verdict_and_web_reopen],
    "agency_authorizer": [status_change_texts_and_emails],
    "agency_api": [agency_subscribes, status_change_texts_and_emails, app_files_and_lists],
    "notifier": [
        status_change_texts_and_emails,
        web_receipt_and_status_code,
        app_files_and_lists,
        email_verdict_and_web_reopen,
    ],
    "outbox_publisher": [eservice_reaches_the_agency],
    "webhook_delivery": [webhook_delivered],
    "open_data": [open_data_stats],
    "open_data_export": [open_data_export],
    "sla_monitor": [sla_monitor_flags_a_late_request],
    "erasure": [erasure_by_phone],
    "redrive": [redrive_webhook_dlqs, redrive_the_outbox],
}


# -- the run ----------------------------------------------------------------------------------
@dataclass
class Outcome:
    mutation: Mutation
    caught_by: str = ""  # the journey that failed
    error: str = ""  # how it failed, one line
    allowed: str = ""  # the allow-list's reason, for a survivor
    journeys: int = 0  # journeys run


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    touched: dict[str, list[str]] = field(default_factory=dict)  # journey → functions
    seconds: float = 0.0
    journey_seconds: dict[str, float] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)

    @property
    def caught(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.caught_by]

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.caught_by]

    @property
    def unexplained(self) -> list[Outcome]:
        return [o for o in self.survivors if not o.allowed]


def load_allowed(path: Path = ALLOWED_FILE) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = tomllib.loads(path.read_text(encoding="utf-8"))["allow"]
    for entry in entries:
        assert entry.get("reason", "").strip(), f"allow-list entry without a reason: {entry}"
    return entries


def granted(wired: dict[str, Any], function: str, variable: str) -> bool:
    """Whether ``function``'s role has a grant that ``variable``'s resource needs: a table
    (``X_TABLE``), the bus (``EVENT_BUS_NAME``: ``events:PutEvents``). Other variables: True."""
    statements = json.dumps(wired["functions"][function]["statements"])
    if variable.endswith("_TABLE"):
        table = variable.removesuffix("_TABLE").replace("_", "").lower()
        return f'"DataTable{table}' in statements
    if variable == "EVENT_BUS_NAME":
        return '"events:PutEvents"' in statements
    return True


def allowed_reason(
    mutation: Mutation, allowed: list[dict[str, Any]], wired: dict[str, Any] | None = None
) -> str:
    """The allow-list's reason for a survivor, or "". An entry with ``ungranted = true``
    applies only to a variable whose resource the function's role has no grant on
    (:func:`granted`; the CDK app gives every function every table's name and the bus's)."""
    for entry in allowed:
        patterns = entry["mutation"]
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if not (
            fnmatch.fnmatchcase(mutation.function, entry.get("function", "*"))
            and any(fnmatch.fnmatchcase(f"{mutation.kind} {mutation.target}", p) for p in patterns)
        ):
            continue
        if entry.get("ungranted") and (
            wired is None or granted(wired, mutation.function, mutation.target)
        ):
            continue
        return str(entry["reason"])
    return ""


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, AssertionError) and not str(exc):
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        text = f"AssertionError: {frame.line}"
    return text[:140]


def _quietly_pump(bus: LocalBus) -> None:
    """Deliver what a mutated run left; a failure here is for the next journey to judge."""
    with contextlib.suppress(Exception):
        bus.pump()


def run(
    only: Callable[[Mutation], bool] | None = None,
    allowed: list[dict[str, Any]] | None = None,
    progress: Callable[[Outcome], None] | None = None,
) -> Report:
    """Run every mutation (or those ``only`` picks) on one bus; the report."""
    allowed = load_allowed() if allowed is None else allowed
    by_construction = [entry for entry in allowed if entry.get("ungranted")]
    report = Report()
    started = time.perf_counter()
    receiver = Receiver()
    try:
        with as_deployed(), LocalBus(env=FAST) as bus:
            world = World(bus, receiver)
            subscribed = bus.request(
                "PUT",
                "/agency/v1/subscriptions",
                headers=KEYS["waste"],
                json_body={"url": receiver.url("/waste"), "types": [SUBMITTED, STATUS_CHANGED]},
            )
            assert subscribed.status == 200, subscribed.text
            # The unmutated bus: every journey passes, and which functions it invokes.
            for journey in JOURNEYS:
                before = dict(bus.invocations)
                t0 = time.perf_counter()
                journey(world)
                report.journey_seconds[journey.__name__] = time.perf_counter() - t0
                report.touched[journey.__name__] = sorted(
                    f for f, n in bus.invocations.items() if n != before.get(f, 0)
                )
            for function, checks in CHECKS.items():
                for check in checks:
                    assert function in report.touched[check.__name__], (function, check)
            report.left_out = runtime_statements(bus.wiring)
            for mutation in mutations(bus.wiring):
                if only is not None and not only(mutation):
                    continue
                outcome = Outcome(mutation)
                # A name whose resource the role has no grant on cannot be used: not run.
                outcome.allowed = allowed_reason(mutation, by_construction, bus.wiring)
                if outcome.allowed:
                    report.outcomes.append(outcome)
                    continue
                with applied(bus, mutation):
                    for journey in CHECKS[mutation.function]:
                        outcome.journeys += 1
                        try:
                            journey(world)
                        except Exception as exc:
                            outcome.caught_by, outcome.error = journey.__name__, _one_line(exc)
                            break
                _quietly_pump(bus)  # what the mutated function left undone
                if not outcome.caught_by:
                    outcome.allowed = allowed_reason(mutation, allowed, bus.wiring)
                report.outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
            # The bus is whole again: every journey passes once more.
            for journey in JOURNEYS:
                journey(world)
    finally:
        receiver.close()
    report.seconds = time.perf_counter() - started
    return report


def summary(report: Report) -> str:
    """The report as Markdown: figures per function, then every survivor and its reason."""
    lines = [
        "# Wiring mutations",
        "",
        "Generated by `python -m tests.support.wiring_mutations` (and tests/test_wiring_mutations.py):",
        "each grant (policy statement) and each environment variable of each function in",
        "citizenbus/local/wiring.json removed one at a time; *caught* means a journey on the",
        "local bus then failed. Survivors must be listed in tests/wiring_mutations_allowed.toml.",
        "",
        f"**{len(report.caught)} of {len(report.outcomes)} mutations caught**; "
        f"{len(report.survivors) - len(report.unexplained)} survivors allowed with a reason, "
        f"{len(report.unexplained)} unexplained; {report.seconds:.0f} s. "
        f"{sum(1 for o in report.survivors if not o.journeys)} of the survivors were not run: "
        "a table's or the bus's name whose resource the function's role has no grant on.",
        "",
        "| function | variables caught | grants caught | its journeys |",
        "|---|---|---|---|",
    ]
    functions = sorted({o.mutation.function for o in report.outcomes})
    for name in functions:
        mine = [o for o in report.outcomes if o.mutation.function == name]
        cells = []
        for kind in ("env", "grant"):
            of_kind = [o for o in mine if o.mutation.kind == kind]
            cells.append(f"{sum(1 for o in of_kind if o.caught_by)}/{len(of_kind)}")
        journeys = [j.__name__ for j in CHECKS.get(name, [])]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {', '.join(journeys)} |")
    lines += ["", "## Survivors", "", "| mutation | reason |", "|---|---|"]
    for o in report.survivors:
        reason = o.allowed or "**NOT EXPLAINED**"
        lines.append(f"| `{o.mutation.id}` | {reason} |")
    lines += ["", "## Caught", "", "| mutation | journey | failure |", "|---|---|---|"]
    for o in report.caught:
        error = o.error.replace("|", "\\|")
        lines.append(f"| `{o.mutation.id}` | {o.caught_by} | {error} |")
    lines += ["", "## Left out (Lambda's runtime; the local bus does not exercise them)", ""]
    lines += [f"- `{label}`" for label in report.left_out]
    lines += ["", "## Journeys (unmutated run)", "", "| journey | seconds | functions |"]
    lines += ["|---|---|---|"]
    for journey, functions_of in report.touched.items():
        seconds = report.journey_seconds[journey]
        lines.append(f"| {journey} | {seconds:.2f} | {', '.join(functions_of)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.support.wiring_mutations [FUNCTION...]``: run, print, write the report
    (the report file only for a full run); 1 when a survivor is not explained."""
    wanted = set(argv if argv is not None else sys.argv[1:])

    def show(o: Outcome) -> None:
        verdict = f"caught by {o.caught_by}: {o.error}" if o.caught_by else "SURVIVED"
        print(f"{o.mutation.id}  {verdict}", file=sys.stderr, flush=True)

    report = run(only=(lambda m: m.function in wanted) if wanted else None, progress=show)
    text = summary(report)
    print(text)
    if not wanted:
        REPORT_FILE.write_text(text, encoding="utf-8")
    return 1 if report.unexplained else 0


if __name__ == "__main__":
    raise SystemExit(main())

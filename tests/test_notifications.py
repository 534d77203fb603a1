"""Status notifications: once, on the citizen's channel, in their language, only with consent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from citizenbus.local.outbox import collect
from citizenbus.local.runtime import LocalBus
from functions.domain.requests.store import RequestStore
from tests.support.contacts import confirmed, link, text_bus


def change_status(
    bus: LocalBus, reference: str, status: str, note: str | None = None, agency: str = "streets"
) -> None:
    """The agency changes the status through the agency API."""
    body = {"status": status, **({"note": note} if note else {})}
    headers = {"Authorization": f"Bearer local-{agency}-key"}
    response = bus.request(
        "POST", f"/agency/v1/requests/{reference}/status", headers=headers, json_body=body
    )
    assert response.status == 200, response.text


def file_form(bus: LocalBus, **fields: str) -> str:
    body = {"address": "Storgatan 1", **fields}
    response = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=body)
    assert response.status == 201, response.text
    return str(response.json()["reference"])


def outbox(bus: LocalBus) -> list[dict[str, Any]]:
    return json.loads(json.dumps(collect(bus)))


def test_a_status_change_sends_one_sms_in_the_citizens_language(bus: LocalBus) -> None:
    ref = file_form(bus, phone="0701234567", notify_by="sms", consent="true", language="en")
    bus.pump()
    # The number was typed in a form: first a confirmation, in English, naming the request.
    assert f"You will get texts about request {ref}" in text_bus(bus, "+46701234567", "YES")
    change_status(bus, ref, "in_progress")
    bus.pump()
    sent = outbox(bus)
    assert [m["channel"] for m in sent] == ["sms", "sms"]
    assert all(m["to"] == "+46701234567" and m["reference"] == ref for m in sent)
    assert "Reply YES" in sent[0]["body"] and ref in sent[0]["body"]
    assert "is now being handled" in sent[1]["body"]


def test_a_confirmed_number_gets_the_receipt_at_once(bus: LocalBus) -> None:
    confirmed(phone="+46701234567")
    ref = file_form(bus, phone="0701234567", notify_by="sms", consent="true", language="en")
    bus.pump()
    [receipt] = outbox(bus)
    assert receipt["reference"] == ref and "received your request" in receipt["body"]


def test_no_consent_means_no_message(bus: LocalBus) -> None:
    confirmed(phone="+46701234567")
    ref = file_form(bus, phone="0701234567")  # no notify_by and no consent: notify_by none
    change_status(bus, ref, "in_progress")
    bus.pump()
    assert outbox(bus) == []


def test_a_citizen_who_chose_email_gets_email(bus: LocalBus) -> None:
    confirmed(email="anna@example.se")
    ref = file_form(
        bus, phone="0701234567", email="anna@example.se", notify_by="email", consent="on"
    )
    change_status(bus, ref, "in_progress")
    change_status(bus, ref, "resolved", note="Hålet är lagat.")
    bus.pump()
    sent = outbox(bus)
    # in progress, resolved, and after it the one satisfaction question (tests/test_verdict.py)
    assert [m["channel"] for m in sent] == ["email", "email", "email", "email"]
    assert all(m["to"] == "anna@example.se" for m in sent)
    assert "Hålet är lagat." in sent[-2]["body"]
    assert "är klart" in sent[-2]["body"]
    assert "/verdict/" in sent[-1]["body"]


def test_a_duplicate_event_sends_nothing_more(bus: LocalBus) -> None:
    confirmed(phone="+46701234567")
    ref = file_form(bus, phone="0701234567", notify_by="sms", consent="on")
    change_status(bus, ref, "in_progress")
    bus.pump()
    before = len(outbox(bus))
    # Deliver every event the notifier queue saw again, as EventBridge or SQS may.
    store = RequestStore()
    record = store.get(ref)
    assert record is not None
    import boto3

    items = boto3.client("dynamodb").scan(TableName="citizenbus-outbox")["Items"]
    for item in items:
        event = json.loads(item["event"]["S"])
        envelope = {"detail-type": event["type"], "source": "org.citizenbus", "detail": event}
        bus.invoke(
            "notifier",
            {
                "Records": [
                    {
                        "messageId": "dup-" + event["id"],
                        "receiptHandle": "x",
                        "body": json.dumps(envelope),
                        "attributes": {},
                        "messageAttributes": {},
                        "md5OfBody": "",
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:eu-north-1:123456789012:citizenbus-notifier",
                        "awsRegion": "eu-north-1",
                    }
                ]
            },
        )
    assert len(outbox(bus)) == before == 2


def test_the_sla_monitor_flags_a_late_request_once_and_tells_the_citizen(bus: LocalBus) -> None:
    confirmed(email="anna@example.se")
    ref = file_form(bus, email="anna@example.se", notify_by="email", consent="on", language="en")
    bus.pump()
    late = (
        (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    )
    import boto3

    boto3.client("dynamodb").update_item(
        TableName="citizenbus-requests",
        Key={"reference": {"S": ref}},
        UpdateExpression="SET expected_at = :e",
        ExpressionAttributeValues={":e": {"S": late}},
    )
    results = [bus.invoke("sla_monitor", {}) for _ in range(3)]
    assert [r["flagged"] for r in results] == [1, 0, 0]
    bus.pump()
    breaches = [
        m
        for m in bus.queue_messages("citizenbus-agency-streets")
        if m["detail-type"].endswith("sla_breached.v1")
    ]
    assert len(breaches) == 1
    notices = [m for m in outbox(bus) if "longer than promised" in m["body"]]
    assert len(notices) == 1
    assert notices[0]["reference"] == ref
    results = [bus.invoke("sla_monitor", {}) for _ in range(2)]
    bus.pump()
    assert len([m for m in outbox(bus) if "longer than promised" in m["body"]]) == 1


def test_closed_requests_are_never_flagged(bus: LocalBus) -> None:
    ref = file_form(bus, email="anna@example.se")
    change_status(bus, ref, "in_progress")
    change_status(bus, ref, "resolved")
    import boto3

    boto3.client("dynamodb").update_item(
        TableName="citizenbus-requests",
        Key={"reference": {"S": ref}},
        UpdateExpression="SET expected_at = :e",
        ExpressionAttributeValues={":e": {"S": "2020-01-01T00:00:00Z"}},
    )
    assert bus.invoke("sla_monitor", {}) == {"flagged": 0, "closed": 1}
    assert bus.invoke("sla_monitor", {}) == {"flagged": 0, "closed": 0}


class ScriptedTwilio:
    """Twilio's HTTP API answering with the given errors first, then as the recorder does."""

    def __init__(self, errors: list[tuple[int, int]]) -> None:
        self.errors = list(errors)
        self.calls = 0

    def install(self, bus: LocalBus) -> None:
        from twilio.http import HttpClient
        from twilio.http.response import Response

        from functions.platform import process

        script = self
        recorder = bus.twilio

        class Client_(HttpClient):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__(logger=None, is_async=False)

            def request(self, method: str, uri: str, **kwargs: Any) -> Response:
                script.calls += 1
                if script.errors:
                    status, code = script.errors.pop(0)
                    return Response(
                        status, json.dumps({"code": code, "message": "scripted", "status": status})
                    )
                return recorder.request(method, uri, **kwargs)

        process.inject(twilio_http_client=Client_())


def wait_for(bus: LocalBus, predicate: Any, seconds: float = 12) -> None:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        bus.pump()
        if predicate():
            return
        time.sleep(0.3)  # a failed message is visible again after its visibility timeout
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (503, 20503)])
def test_twilio_throttling_and_outages_are_retried(bus: LocalBus, status: int, code: int) -> None:
    confirmed(phone="+46701234567")
    ref = file_form(bus, phone="0701234567", notify_by="sms", consent="on")
    bus.pump()  # the receipt
    script = ScriptedTwilio([(status, code), (status, code)])
    script.install(bus)
    change_status(bus, ref, "in_progress")
    wait_for(bus, lambda: len(outbox(bus)) == 2)
    assert script.calls == 3
    assert "handläggs nu" in outbox(bus)[-1]["body"]


def test_twilio_opted_out_is_recorded_and_not_retried(bus: LocalBus) -> None:
    from functions.domain.citizens.identity import pseudonym
    from functions.domain.citizens.store import CitizenStore

    script = ScriptedTwilio([(400, 21610)])
    script.install(bus)
    ref = file_form(bus, phone="0701234567", notify_by="sms", consent="on")
    bus.pump()
    assert script.calls == 1
    assert CitizenStore().consent(pseudonym("phone", "+46701234567"), "sms") is False
    change_status(bus, ref, "in_progress")  # nothing more is sent to an opted-out number
    bus.pump()
    assert script.calls == 1
    assert outbox(bus) == []


def test_an_opted_out_number_gets_nothing(bus: LocalBus) -> None:
    from functions.domain.citizens.identity import pseudonym
    from functions.domain.citizens.store import CitizenStore

    CitizenStore().set_consent(pseudonym("phone", "+46701234567"), "sms", False, "sms:STOP")
    ref = file_form(bus, phone="0701234567", notify_by="sms", consent="on")
    change_status(bus, ref, "in_progress")
    bus.pump()
    assert outbox(bus) == []


def sent_sids(bus: LocalBus) -> list[str]:
    return [m["sid"] for m in bus.twilio.sent]


def status_callback(bus: LocalBus, sid: str, status: str, error_code: str | None = None) -> None:
    from citizenbus.local.phone import twilio_request

    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": "+46766860000",
        "To": "+46701234567",
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        params["ErrorCode"] = error_code
    response = twilio_request(bus, "/channels/sms/status", params)
    assert response.status == 200, response.text


def test_an_undelivered_sms_falls_back_to_email_once(bus: LocalBus) -> None:
    confirmed(phone="+46701234567", email="anna@example.se")
    ref = file_form(bus, phone="0701234567", email="anna@example.se", notify_by="sms", consent="on")
    bus.pump()
    [sms] = outbox(bus)
    [sid] = sent_sids(bus)
    status_callback(bus, sid, "sent")
    status_callback(bus, sid, "undelivered", "30003")
    status_callback(bus, sid, "undelivered", "30003")  # Twilio may call back twice
    bus.pump()
    sent = outbox(bus)
    assert [m["channel"] for m in sent] == ["sms", "email"]
    assert sent[1]["to"] == "anna@example.se"
    assert sent[1]["reference"] == ref
    assert sent[1]["body"] == sms["body"]


def test_no_fallback_to_an_unconfirmed_email(bus: LocalBus) -> None:
    confirmed(phone="+46701234567")  # the phone is proven; the e-mail beside it is not
    file_form(bus, phone="0701234567", email="someone@example.se", notify_by="sms", consent="on")
    bus.pump()
    [sid] = sent_sids(bus)
    status_callback(bus, sid, "undelivered", "30003")
    bus.pump()
    assert [m["channel"] for m in outbox(bus)] == ["sms"]


def test_a_delivered_sms_needs_no_fallback(bus: LocalBus) -> None:
    file_form(bus, phone="0701234567", email="anna@example.se", notify_by="sms", consent="on")
    bus.pump()
    [sid] = sent_sids(bus)
    status_callback(bus, sid, "delivered")
    status_callback(bus, sid, "failed")  # late and out of order: delivered stays
    bus.pump()
    assert [m["channel"] for m in outbox(bus)] == ["sms"]


def test_journey_metrics_are_emitted_by_service_and_channel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LocalBus(env={"POWERTOOLS_METRICS_DISABLED": "false"}) as bus:
        confirmed(email="anna@example.se")
        ref = file_form(bus, email="anna@example.se", notify_by="email", consent="on")
        change_status(bus, ref, "in_progress")
        change_status(bus, ref, "resolved")
        bus.pump()
    emitted = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith('{"_aws"')
    ]
    names = {
        m["Name"]: e for e in emitted for d in e["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]
    }
    for name in ("TimeToFirstResponse", "TimeToResolution", "NotificationOutcome.sent"):
        assert name in names, sorted(names)
        assert names[name]["service"] == "street-damage"
        assert names[name]["channel"] == "eservice" or name.startswith("NotificationOutcome")
    assert names["NotificationOutcome.sent"]["channel"] == "email"


def test_app_preferences_choose_the_channel_and_consent_is_audited(bus: LocalBus) -> None:
    from tests.support.tokens import auth

    prefs = {"notify_by": "email", "email": "bo@example.se", "language": "en", "consent": True}
    link(bus, "bo", email="bo@example.se")  # the app takes only a proven address
    codes = len(outbox(bus))
    saved = bus.request("PUT", "/app/v1/me/preferences", headers=auth("bo"), json_body=prefs)
    assert saved.status == 200, saved.text
    filed = bus.request(
        "POST",
        "/app/v1/requests",
        headers=auth("bo"),
        json_body={
            "service_code": "missed-waste-collection",
            "attributes": {"address": "Sopvägen 2"},
        },
    ).json()
    change_status(bus, filed["reference"], "in_progress", agency="waste")
    bus.pump()
    [mail] = outbox(bus)[codes:]
    assert mail["channel"] == "email"
    assert mail["to"] == "bo@example.se"
    assert "now being handled" in mail["body"]
    # Opting out stops it, and the ledger keeps both decisions.
    bus.request(
        "PUT", "/app/v1/me/preferences", headers=auth("bo"), json_body={**prefs, "consent": False}
    )
    change_status(bus, filed["reference"], "resolved", agency="waste")
    bus.pump()
    assert len(outbox(bus)) == codes + 1
    from functions.domain.citizens.identity import pseudonym
    from functions.domain.citizens.store import CitizenStore

    ledger = CitizenStore().consent_ledger(pseudonym("app", "bo"), "email")
    assert [e["opted_in"] for e in ledger] == [True, False]
    assert {e["source"] for e in ledger} == {"app:preferences"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"notify_by": "email", "consent": True}, "email"),
        ({"notify_by": "sms", "consent": True, "phone": "12"}, "phone"),
        ({"notify_by": "pigeon", "consent": True}, "notify_by"),
        (
            {"notify_by": "push", "consent": True, "push_endpoint": "https://evil.example"},
            "push_endpoint",
        ),
        ({"notify_by": "none"}, "consent"),
    ],
)
def test_bad_preferences_are_refused(bus: LocalBus, body: dict[str, Any], field: str) -> None:
    from tests.support.tokens import auth

    response = bus.request("PUT", "/app/v1/me/preferences", headers=auth(), json_body=body)
    assert response.status == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    assert bus.request("PUT", "/app/v1/me/preferences", json_body=body).status == 401


def test_stop_by_sms_silences_notifications_for_requests_filed_elsewhere(bus: LocalBus) -> None:
    from citizenbus.local.phone import sms_params, twilio_request

    ref = file_form(bus, phone="0701234567", notify_by="sms", consent="on")
    bus.pump()
    assert len(outbox(bus)) == 1  # the receipt
    assert twilio_request(bus, "/channels/sms", sms_params("+46701234567", "STOP")).status == 200
    change_status(bus, ref, "in_progress")
    bus.pump()
    assert len(outbox(bus)) == 1

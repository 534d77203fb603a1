"""Retention and erasure: personal data expires, and one command removes a citizen everywhere.

A citizen files on every channel (SMS, a web form, Open311, the app with saved preferences),
an agency reads and closes a request, then ``citizenbus erase --phone`` runs. Afterwards no
table holds their phone number, e-mail address, personal code or free text, the citizen store
holds nothing under their id, their message-id dedup items are gone, and the audit log still
says who read what. The requests stay, anonymous, so Open311 and the aggregates count the same.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from citizenbus.cli import main
from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from functions import topology
from functions.domain.citizens.identity import pseudonym
from schemas.catalog import load_catalog
from tests.support.tokens import auth

ANNA = "+46701234567"
ANNA_LOCAL = "070-123 45 67"
ANNA_MAIL = "anna.andersson@example.se"
BO = "+46709876543"
STREETS = {"Authorization": "Bearer local-streets-key"}
DAY = 24 * 3600


def table_text(name: str) -> str:
    client = boto3.client("dynamodb")
    items = [i for p in client.get_paginator("scan").paginate(TableName=name) for i in p["Items"]]
    return json.dumps(items, ensure_ascii=False)


def all_tables_text() -> str:
    return "\n".join(table_text(f"citizenbus-{t.name}") for t in topology.TABLES)


def requests_of(bus: LocalBus) -> dict[str, dict[str, Any]]:
    from functions.platform.dynamo import from_item

    client = boto3.client("dynamodb")
    items = client.scan(TableName="citizenbus-requests")["Items"]
    return {i["reference"]["S"]: from_item(i) for i in items}


def file_everywhere(bus: LocalBus) -> dict[str, str]:
    """Anna files on four channels and saves app preferences; Bo files once."""
    refs: dict[str, str] = {}
    sms = twilio_request(bus, "/channels/sms", sms_params(ANNA, "DEKL 1234-5678"))
    assert sms.status == 200
    web = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={
            "address": "Storgatan 12B, lgh 1102",
            "description": "Hole outside my door, call me on 0701234567",
            "phone": ANNA_LOCAL,
            "email": ANNA_MAIL,
            "notify_by": "email",
            "consent": True,
        },
    )
    assert web.status == 201, web.text
    refs["web"] = web.json()["reference"]
    o311 = bus.request(
        "POST",
        "/open311/v2/requests.json",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"api_key=local-open311-key&service_code=missed-waste-collection"
        f"&address_string=Sopv%C3%A4gen+2&email={ANNA_MAIL}",
    )
    assert o311.status == 201, o311.text
    prefs = bus.request(
        "PUT",
        "/app/v1/me/preferences",
        headers=auth("anna-app"),
        json_body={"notify_by": "sms", "phone": ANNA, "language": "en", "consent": True},
    )
    assert prefs.status == 200, prefs.text
    bo = bus.request(
        "POST",
        "/eservice/v1/forms/missed-waste-collection",
        json_body={"address": "Bovägen 9", "phone": BO, "notify_by": "sms", "consent": True},
    )
    refs["bo"] = bo.json()["reference"]
    bus.pump()
    return refs


def open_counts(bus: LocalBus) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """What Open311 lists and the aggregate rows (without their generation time)."""
    listed = bus.request("GET", "/open311/v2/requests.json").json()
    bus.run_schedules(force=True)  # a fresh open-data export
    rows = bus.request("GET", "/open-data/v1/stats.json").json()["rows"]
    assert listed and rows
    return sorted((r["service_request_id"], r["status"]) for r in listed), rows


def test_erase_by_phone_removes_the_citizen_everywhere_and_keeps_the_statistics(
    bus: LocalBus, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = file_everywhere(bus)
    # The agency reads the web request (audited) and closes it.
    assert bus.request("GET", f"/agency/v1/requests/{refs['web']}", headers=STREETS).status == 200
    for status in ("in_progress", "resolved"):
        moved = bus.request(
            "POST",
            f"/agency/v1/requests/{refs['web']}/status",
            headers=STREETS,
            json_body={"status": status, "note": f"Spoke to Anna on {ANNA}"},
        )
        assert moved.status == 200, moved.text
    bus.pump()
    before = requests_of(bus)
    counts_before = open_counts(bus)
    assert "1234" in table_text("citizenbus-requests")  # the personal code is stored...
    assert ANNA in table_text("citizenbus-requests")

    assert main(["erase", "--phone", "0701234567"]) == 0
    printed = capsys.readouterr().out
    # SMS and web (the number), Open311 (the e-mail given with the number on the web form)
    assert "3 request(s) anonymised" in printed
    after = requests_of(bus)

    # Every row is still there, with what the statistics need.
    assert set(after) == set(before)
    for reference, record in after.items():
        kept = ("service_code", "agency", "channel", "status", "submitted_at", "expected_at")
        assert {k: record.get(k) for k in kept} == {k: before[reference].get(k) for k in kept}
    anna = [r for r in after.values() if r["reference"] != refs["bo"]]
    assert anna and all(r["citizen"] == "erased" and r["erased_at"] for r in anna)
    for record in anna:
        assert "contact" not in record and "personal" not in record
        assert record["notify_by"] == "none"
        assert all("note" not in h for h in record["history"])
    web = after[refs["web"]]
    assert web["attributes"] == {"address": "Storgatan"}  # cut to the street, free text gone
    assert [h["status"] for h in web["history"]] == ["received", "in_progress", "resolved"]
    assert after[refs["bo"]]["contact"] == {"phone": BO}  # someone else is untouched

    # Nothing of Anna in any table: phone in any format, e-mail, personal code, free text.
    everything = all_tables_text()
    for value in (ANNA, "701234567", ANNA_MAIL, "12345678", "call me", "lgh 1102"):
        assert value not in everything, value
    cid = pseudonym("phone", ANNA)
    assert cid not in table_text("citizenbus-citizens")
    assert cid not in table_text("citizenbus-idempotency")
    # The audit log still says who read what (and never held a value).
    audit = table_text("citizenbus-agency_audit")
    assert refs["web"] in audit and "contact.phone" in audit

    # Open311 and the aggregates count the same, and nobody sees the erased request as theirs.
    assert open_counts(bus) == counts_before
    assert twilio_request(bus, "/channels/sms", sms_params(ANNA, "STATUS")).status == 200
    assert bus.request("GET", "/app/v1/requests", headers=auth("anna-app")).json() == {
        "requests": []
    }

    # Erasing again finds nothing more; the erased request can still be closed without a send.
    assert main(["erase", "--phone", ANNA]) == 0
    assert "0 request(s) anonymised" in capsys.readouterr().out


def test_erase_by_email_and_by_citizen_id_through_the_function(bus: LocalBus) -> None:
    refs = file_everywhere(bus)
    app_citizen = pseudonym("app", "anna-app")
    assert app_citizen in table_text("citizenbus-citizens")
    done = bus.invoke("erasure", {"email": ANNA_MAIL.upper()})
    # Open311 and the web form gave the e-mail; the web form's phone number leads on to the
    # SMS request and to the app account that saved the number in its preferences.
    assert done["erased"]["requests"] == 3
    assert done["erased"]["citizen_items"] >= 3  # preferences, consent state and ledger, ...
    everything = all_tables_text()
    for value in (ANNA_MAIL, ANNA, "12345678", app_citizen):
        assert value not in everything, value

    done = bus.invoke("erasure", {"citizen": pseudonym("phone", BO)})
    assert done["erased"]["requests"] == 1
    assert BO not in all_tables_text()

    # After erasure an agency can still move the request along; nobody is notified, nothing breaks.
    bus.request(
        "POST",
        f"/agency/v1/requests/{refs['web']}/status",
        headers=STREETS,
        json_body={"status": "in_progress"},
    )
    bus.pump()
    assert requests_of(bus)[refs["web"]]["status"] == "in_progress"

    for bad in (
        {},
        {"phone": "not a number"},
        {"email": "nobody"},
        {"citizen": "x"},
        {"phone": 46701234567},
    ):
        answer = bus.invoke("erasure", bad)
        assert answer["errors"][0]["message"], bad
    assert main(["erase", "--citizen", "nope"]) == 2


def test_every_table_with_personal_data_expires_by_ttl(bus: LocalBus) -> None:
    client = boto3.client("dynamodb")
    personal = {"requests", "citizens", "idempotency", "outbox"}
    for table in topology.TABLES:
        if table.name in personal:
            assert table.ttl, table.name
            ttl = client.describe_time_to_live(TableName=f"citizenbus-{table.name}")
            assert ttl["TimeToLiveDescription"]["AttributeName"] == table.ttl
            assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    # The tables without a TTL hold no personal values: agencies' webhook subscriptions and
    # the audit log of reads (who, when, which reference, which kinds of field).


def test_requests_expire_by_retention_from_filing_and_then_from_closing(bus: LocalBus) -> None:
    retention = load_catalog().jurisdiction.retention_days * DAY
    refs = file_everywhere(bus)
    record = requests_of(bus)[refs["web"]]
    assert abs(int(record["expires_at"]) - (time.time() + retention)) < 120
    for status in ("in_progress", "resolved"):
        bus.request(
            "POST",
            f"/agency/v1/requests/{refs['web']}/status",
            headers=STREETS,
            json_body={"status": status},
        )
    closed = requests_of(bus)[refs["web"]]
    assert int(closed["expires_at"]) >= int(record["expires_at"])
    assert abs(int(closed["expires_at"]) - (time.time() + retention)) < 120
    # An open status change does not move the expiry.
    bus.request(
        "POST",
        f"/agency/v1/requests/{refs['bo']}/status",
        headers={"Authorization": "Bearer local-waste-key"},
        json_body={"status": "in_progress"},
    )
    assert requests_of(bus)[refs["bo"]]["expires_at"] == requests_of(bus)[refs["bo"]]["expires_at"]

    from functions.platform.dynamo import from_item

    prefs = boto3.client("dynamodb").get_item(
        TableName="citizenbus-citizens",
        Key={"pk": {"S": pseudonym("app", "anna-app")}, "sk": {"S": "preferences"}},
    )["Item"]
    assert abs(int(from_item(prefs)["expires_at"]) - (time.time() + retention)) < 120


def test_citizenbus_erase_against_the_local_bus(
    bus: LocalBus, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITIZENBUS_OPERATOR_TOKEN", "operator-token-for-this-test")
    import threading

    from citizenbus.local.server import make_server

    file_everywhere(bus)
    server = make_server(bus, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert main(["erase", "--local", url, "--phone", "12"]) == 2  # not a phone number
        assert "not a valid phone number" in capsys.readouterr().err
        assert main(["erase", "--local", url, "--phone", BO]) == 0
        assert "1 request(s) anonymised" in capsys.readouterr().out
    finally:
        server.shutdown()
        server.server_close()
    assert BO not in all_tables_text()
    assert ANNA in all_tables_text()

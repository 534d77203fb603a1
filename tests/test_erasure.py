"""Retention and erasure: personal data expires, and erasure removes one identity's data.

A citizen files on every channel (SMS, a web form, Open311, the app with saved preferences),
an agency reads and closes a request, then ``citizenbus erase`` runs for each of their
identities (the phone number, the e-mail address, the app account). Afterwards no table holds
their phone number, e-mail address, personal code or free text, the citizen store holds
nothing under their ids, their message-id dedup items are gone, and the audit log still says
who read what. The requests stay, anonymous, so Open311 and the aggregates count the same.

Erasure follows only the identity named: a contact typed next to it on a form is someone
else's until proven (finding 3 of issue 14); it is removed from that request alone.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from citizenbus.cli import main
from citizenbus.local.outbox import collect
from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from functions import topology
from functions.domain.citizens.identity import pseudonym
from schemas.catalog import load_catalog
from tests.support.contacts import link
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
    link(bus, "anna-app", phone=ANNA)  # the app's notification phone is a proven one
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
    # SMS and web (filed by the number); the Open311 request is the e-mail's own identity
    # (never followed from the e-mail typed next to the number), erased on its own below.
    assert "2 request(s) anonymised" in capsys.readouterr().out
    assert ANNA not in table_text("citizenbus-requests")
    assert ANNA_MAIL in table_text("citizenbus-requests")
    assert main(["erase", "--email", ANNA_MAIL]) == 0
    assert "1 request(s) anonymised" in capsys.readouterr().out
    assert main(["erase", "--citizen", pseudonym("app", "anna-app")]) == 0
    assert "0 request(s) anonymised" in capsys.readouterr().out
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
    # The e-mail's own request (Open311) is anonymised; on the web form the e-mail sat next to
    # the phone number (whose request it is): the e-mail goes from it, nothing else does.
    assert done["erased"]["requests"] == 1
    assert done["erased"]["contacts_removed"] == 1
    web = requests_of(bus)[refs["web"]]
    assert web["contact"] == {"phone": ANNA} and web["citizen"] == pseudonym("phone", ANNA)
    assert web["notify_by"] == "none"  # it notified the e-mail: that stops
    everything = all_tables_text()
    assert ANNA_MAIL not in everything
    assert ANNA in everything and app_citizen in everything  # never followed

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
        assert main(["erase", "--local", url, "--phone", BO, "--dry-run"]) == 0
        assert "would anonymise 1 request(s)" in capsys.readouterr().out
        assert BO in all_tables_text()
        assert main(["erase", "--local", url, "--phone", BO]) == 0
        assert "1 request(s) anonymised" in capsys.readouterr().out
    finally:
        server.shutdown()
        server.server_close()
    assert BO not in all_tables_text()
    assert ANNA in all_tables_text()


VICTIM = "+46701112233"
ATTACKER_MAIL = "mallory@example.org"


def test_erasing_ones_own_email_leaves_a_stranger_whose_phone_was_typed_next_to_it(
    bus: LocalBus,
) -> None:
    """Finding 3: someone files a form with the victim's number and their own e-mail, then
    erases their e-mail. The victim keeps their request, its contact and citizen link, their
    STOP, consent ledger and conversations."""
    victim = pseudonym("phone", VICTIM)
    assert (
        twilio_request(bus, "/channels/sms", sms_params(VICTIM, "GATA Storgatan 1")).status == 200
    )
    assert twilio_request(bus, "/channels/sms", sms_params(VICTIM, "STOP")).status == 200
    planted = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={
            "address": "Storgatan 5",
            "phone": VICTIM,
            "email": ATTACKER_MAIL,
            "notify_by": "email",
            "consent": True,
        },
    )
    assert planted.status == 201, planted.text
    bus.pump()
    victims = {r: v for r, v in requests_of(bus).items() if v["citizen"] == victim}
    assert len(victims) == 2
    client = boto3.client("dynamodb")

    def victim_items() -> list[str]:
        got = client.query(
            TableName="citizenbus-citizens",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": victim}},
        )["Items"]
        return sorted(i["sk"]["S"] for i in got)

    ledger = victim_items()
    assert any(sk.startswith("consent#sms#") for sk in ledger)

    attacker = pseudonym("email", ATTACKER_MAIL)
    own = client.query(
        TableName="citizenbus-citizens",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": attacker}},
    )["Items"]
    done = bus.invoke("erasure", {"email": ATTACKER_MAIL})
    # what goes from the citizens table is the attacker's own (the confirmation their e-mail
    # was asked for), never the victim's
    assert done["erased"]["requests"] == 0 and done["erased"]["citizen_items"] == len(own)
    assert done["erased"]["contacts_removed"] == 1
    after = requests_of(bus)
    for reference in victims:
        assert after[reference]["citizen"] == victim
        assert after[reference]["contact"]["phone"] == VICTIM
        assert "erased_at" not in after[reference]
    assert ATTACKER_MAIL not in all_tables_text()  # the e-mail itself is gone everywhere
    assert victim_items() == ledger  # STOP, the ledger and the rest are the victim's still
    # The STOP still holds: a status change of the victim's request texts nobody.
    planted_ref = next(r for r, v in after.items() if v["channel"] == "eservice")
    outbox = len(collect(bus))
    bus.request(
        "POST",
        f"/agency/v1/requests/{planted_ref}/status",
        headers=STREETS,
        json_body={"status": "in_progress"},
    )
    bus.pump()
    assert [m for m in collect(bus)[outbox:] if m["to"] in (VICTIM, ATTACKER_MAIL)] == []


def test_dry_run_counts_first_and_changes_nothing(
    bus: LocalBus, capsys: pytest.CaptureFixture[str]
) -> None:
    file_everywhere(bus)
    before = all_tables_text()
    counted = bus.invoke("erasure", {"phone": ANNA, "dry_run": True})["erased"]
    assert counted["dry_run"] is True and counted["requests"] == 2
    assert counted["citizen_items"] >= 1 and counted["dedup_items"] >= 1
    assert main(["erase", "--phone", ANNA, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "dry run, nothing changed: would anonymise 2 request(s)" in printed
    assert all_tables_text() == before
    assert bus.invoke("erasure", {"phone": ANNA, "dry_run": "yes"})["errors"]
    done = bus.invoke("erasure", {"phone": ANNA})["erased"]
    assert {k: v for k, v in done.items() if k != "dry_run"} == {
        k: v for k, v in counted.items() if k != "dry_run"
    }
    assert all_tables_text() != before


def test_erasure_queries_keys_and_indexes_and_never_scans(bus: LocalBus) -> None:
    """Finding 9: erasure scanned four tables up to five times (a timeout on a city's data).
    Now every look-up is a key or index query: no Scan, and the same number of calls whatever
    else the tables hold."""
    from functions.platform import aws

    file_everywhere(bus)
    calls: list[str] = []

    def count(**kwargs: Any) -> None:
        calls.append(kwargs["model"].name)

    with bus.sandbox("erasure"):  # the erasure function's own client
        client = aws.dynamodb()
    client.meta.events.register("before-call.dynamodb", count)
    try:
        bus.invoke("erasure", {"phone": ANNA, "dry_run": True})
        alone = list(calls)
        for n in range(20):  # twenty more citizens
            filed = bus.request(
                "POST",
                "/eservice/v1/forms/street-damage",
                json_body={"address": f"Gatan {n}", "email": f"n{n}@example.se"},
            )
            assert filed.status == 201, filed.text
        calls.clear()
        bus.invoke("erasure", {"phone": ANNA, "dry_run": True})
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)
    assert alone and "Scan" not in alone
    assert sorted(calls) == sorted(alone)

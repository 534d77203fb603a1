"""The agency API: bearer keys, own requests only, audited reads, the lifecycle."""

from __future__ import annotations

import json
import threading

import boto3
import pytest

from citizenbus.local.runtime import LocalBus
from citizenbus.local.server import make_server
from examples.agency_backend import SUPPORTED, AgencyBackend
from functions.domain.agencies.keys import authenticate
from functions.platform import process
from schemas.events import STATUS_CHANGED, SUBMITTED, RequestEvent
from tests.support.bus import count_items, load_event
from tests.support.tokens import KEYS
from tests.support.webhooks import FAST, file

PHONE = "+46701234567"


def outbox_events() -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName="citizenbus-outbox")["Items"]
    return [json.loads(i["event"]["S"]) for i in items]


def audit_items() -> list[dict]:
    return boto3.client("dynamodb").scan(TableName="citizenbus-agency_audit")["Items"]


def test_own_request_with_contact_details_and_every_read_audited(bus: LocalBus) -> None:
    reference = file(bus, "tax-return-approve", {"personal_code": "12345678"})
    response = bus.request("GET", f"/agency/v1/requests/{reference}", headers=KEYS["tax"])
    assert response.status == 200
    view = response.json()
    assert view["reference"] == reference and view["status"] == "received"
    assert view["contact"] == {"phone": PHONE, "email": "anna@example.se"}
    assert view["personal_attributes"] == {"personal_code": "12345678"}
    bus.request("GET", f"/agency/v1/requests/{reference}", headers=KEYS["tax"])

    entries = audit_items()
    assert len(entries) == 2
    for entry in entries:
        assert entry["agency"] == {"S": "tax"} and entry["by"] == {"S": "agency:tax"}
        assert entry["reference"] == {"S": reference} and entry["action"] == {"S": "read"}
        assert entry["at"]["S"].endswith("Z")
        assert {f["S"] for f in entry["fields"]["L"]} == {
            "contact.email",
            "contact.phone",
            "personal_attributes.personal_code",
        }
    # The audit log says what kind of data was seen, never the data itself.
    dumped = json.dumps(entries)
    assert "12345678" not in dumped and "701234567" not in dumped and "anna@" not in dumped


def test_wrong_or_missing_key_is_401_and_another_agencys_request_404(bus: LocalBus) -> None:
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    path = f"/agency/v1/requests/{reference}"
    for headers in (
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer local-streets-key-but-longer"},
        {"Authorization": "Basic local-streets-key"},
        {},
    ):
        response = bus.request("GET", path, headers=headers)
        assert response.status == 401, headers
        assert response.json()["errors"][0]["field"] == "authorization"
        response = bus.request(
            "POST", f"{path}/status", headers=headers, json_body={"status": "in_progress"}
        )
        assert response.status == 401
    for agency in ("tax", "waste"):
        response = bus.request("GET", path, headers=KEYS[agency])
        assert response.status == 404
        assert "Storgatan" not in response.text
        response = bus.request(
            "POST", f"{path}/status", headers=KEYS[agency], json_body={"status": "in_progress"}
        )
        assert response.status == 404
    assert bus.request("GET", "/agency/v1/requests/1234", headers=KEYS["streets"]).status == 404
    # Someone else's and unknown references are audited as refused, with nothing seen.
    refused = [e for e in audit_items() if e["outcome"]["S"] == "not_found"]
    assert len(refused) == 3 and all(e["fields"]["L"] == [] for e in refused)
    assert bus.request("GET", path, headers=KEYS["streets"]).status == 200
    assert bus.invocations.get("agency_api", 0) > 0


def test_status_update_follows_the_lifecycle_and_publishes_status_changed(bus: LocalBus) -> None:
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    path = f"/agency/v1/requests/{reference}/status"
    key = KEYS["streets"]
    response = bus.request(
        "POST",
        path,
        headers=key,
        json_body={"status": "in_progress", "note": "Crew booked", "expected_at": "2026-12-01"},
    )
    assert response.status == 200, response.text
    state = response.json()
    assert state["status"] == "in_progress" and state["version"] == 2
    assert state["expected_at"] == "2026-12-01T00:00:00Z"
    last = state["history"][-1]
    assert last["by"] == "agency:streets" and last["note"] == "Crew booked"
    assert "contact" not in state

    changed = [e for e in outbox_events() if e["type"] == STATUS_CHANGED]
    assert len(changed) == 1
    event = RequestEvent.model_validate(changed[0])
    assert event.data.status == "in_progress" and event.data.previous_status == "received"
    assert event.data.note == "Crew booked" and event.subject == reference
    assert PHONE not in json.dumps(changed[0])
    bus.pump()
    types = [m["detail"]["type"] for m in bus.queue_messages("citizenbus-agency-streets")]
    assert types == [SUBMITTED, STATUS_CHANGED]

    # The citizen sees the change in their history too.
    view = bus.request("GET", f"/agency/v1/requests/{reference}", headers=key).json()
    assert [h["status"] for h in view["history"]] == ["received", "in_progress"]


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], "resolved"),
        ([], "needs_info"),
        (["in_progress"], "received"),
        (["in_progress"], "in_progress"),
        (["in_progress", "resolved"], "in_progress"),
        (["in_progress", "rejected"], "resolved"),
    ],
)
def test_an_illegal_transition_is_409_and_nothing_changes(
    bus: LocalBus, steps: list[str], illegal: str
) -> None:
    reference = file(bus, "missed-waste-collection", {"address": "Sopvägen 2"})
    path = f"/agency/v1/requests/{reference}/status"
    for status in steps:
        assert (
            bus.request("POST", path, headers=KEYS["waste"], json_body={"status": status}).status
            == 200
        )
    before = bus.request("GET", f"/agency/v1/requests/{reference}", headers=KEYS["waste"]).json()
    outbox = count_items("outbox")
    response = bus.request("POST", path, headers=KEYS["waste"], json_body={"status": illegal})
    assert response.status == 409
    assert response.json()["errors"][0]["field"] == "status"
    after = bus.request("GET", f"/agency/v1/requests/{reference}", headers=KEYS["waste"]).json()
    assert after == before
    assert count_items("outbox") == outbox


def test_bad_status_bodies_are_400(bus: LocalBus) -> None:
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    path = f"/agency/v1/requests/{reference}/status"
    for body, field in (
        ({"status": "done"}, "status"),
        ({}, "status"),
        ({"status": "in_progress", "colour": "red"}, "colour"),
        ({"status": "in_progress", "expected_at": "soon"}, "expected_at"),
    ):
        response = bus.request("POST", path, headers=KEYS["streets"], json_body=body)
        assert response.status == 400, body
        assert response.json()["errors"][0]["field"] == field
    response = bus.request("POST", path, headers=KEYS["streets"], body="{", json_body=None)
    assert response.status == 415 or response.status == 400
    assert count_items("outbox") == 1


def test_the_authorizer_names_the_agency_and_never_denies_with_403(bus: LocalBus) -> None:
    sample = load_event("agency/authorizer_request.json")
    answer = bus.invoke("agency_authorizer", sample)
    assert answer == {"isAuthorized": True, "context": {"agency": "streets"}}
    sample["headers"]["authorization"] = "Bearer wrong"
    answer = bus.invoke("agency_authorizer", sample)
    # A denial would be a bare 403 on an HTTP API; the API answers 401 itself.
    assert answer == {"isAuthorized": True, "context": {"agency": ""}}


def test_without_the_keys_secret_no_agency_gets_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain ``CITIZENBUS_AGENCY_KEYS`` is the local bus's input for the secret, never a
    function's: a function without the secret's ARN lets nobody in."""
    monkeypatch.setenv("CITIZENBUS_AGENCY_KEYS", "tax=k1,streets=k2")
    monkeypatch.delenv("AGENCY_KEYS_SECRET_ARN", raising=False)
    process.reset()
    try:
        assert authenticate("Bearer k2") is None
        assert authenticate(None) is None
    finally:
        process.reset()


def test_the_example_backend_verifies_and_answers_with_a_status() -> None:
    with LocalBus(env=FAST) as bus:
        api = make_server(bus, "127.0.0.1", 0)
        threading.Thread(target=api.serve_forever, daemon=True).start()
        backend = AgencyBackend(f"http://127.0.0.1:{api.server_address[1]}", "local-streets-key")
        server = backend.server("127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            backend.subscribe(f"http://127.0.0.1:{server.server_address[1]}/citizenbus")
            reference = file(bus, "street-damage", {"address": "Storgatan 1"})
            bus.pump()
            assert [e.get_subject() for e in backend.received] == [reference]
            backend.drain()  # moves it to in_progress through the agency API, over HTTP
            record = bus.request(
                "GET", f"/agency/v1/requests/{reference}", headers=KEYS["streets"]
            ).json()
            assert record["status"] == "in_progress"
            assert record["history"][-1]["by"] == "agency:streets"
            bus.pump()  # the status change comes back to the back-end as a webhook too
            assert [e.get_type() for e in backend.received] == [SUBMITTED, STATUS_CHANGED]
            # Someone else reports the same place: no new case, one "supported" event.
            again = bus.request(
                "POST",
                "/eservice/v1/forms/street-damage",
                json_body={"address": "storgatan 1", "email": "grannen@example.se"},
            )
            assert again.status == 200 and again.json()["duplicate_of"] == reference
            bus.pump()
            backend.drain()
            assert backend.received[-1].get_type() == SUPPORTED
            assert backend.supporters == {reference: 1}
            # A delivery that is not signed with the secret is refused.
            forged = {"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,AA=="}
            assert backend.receive(forged, b"{}") == 401
        finally:
            server.shutdown()
            server.server_close()
            api.shutdown()
            api.server_close()


def test_the_keys_come_from_the_templates_secret_in_secrets_manager(bus: LocalBus) -> None:
    """As in AWS: the authorizer and the API read the secret the template names
    (AGENCY_KEYS_SECRET_ARN, resolved to the moto secret); a rotated value counts, the old
    keys and the plain variable do not."""
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    path = f"/agency/v1/requests/{reference}"
    assert bus.request("GET", path, headers=KEYS["streets"]).status == 200
    for function in ("agency_api", "agency_authorizer"):
        env = bus.environment_of(function)
        assert env["AGENCY_KEYS_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
        assert "CITIZENBUS_AGENCY_KEYS" not in env
    boto3.client("secretsmanager").put_secret_value(
        SecretId="citizenbus/agency-keys", SecretString=json.dumps({"streets": "from-the-vault"})
    )
    process.reset()  # a cold start (a warm one reads it again within MAX_AGE_SECONDS)
    vault = {"Authorization": "Bearer from-the-vault"}
    assert bus.request("GET", path, headers=vault).status == 200
    assert bus.request("GET", path, headers=KEYS["streets"]).status == 401

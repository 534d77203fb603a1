"""Reopening a resolved request: by SMS, in the app and on the web status page after the
one-time code; only the citizen's own, within the service's window, capped; the agency hears
``status_changed`` (``reopened``) and the SLA clock starts again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.domain.requests.store import RequestStore
from functions.platform import clock
from tests.support.bus import STREETS, agency_sets
from tests.support.contacts import confirmed, last_code, outbox, text_bus
from tests.support.tokens import auth

ANNA = "+46701234567"
BERIT = "+46709876543"
STREET = {"service_code": "street-damage", "attributes": {"address": "Storgatan 3"}}


def filed_by_sms(bus: LocalBus, phone: str = ANNA) -> str:
    reply = text_bus(bus, phone, "GATA Storgatan 1 djupt hål")
    found = re.search(r"\b(\d{10})\b", reply)
    assert found, reply
    return found.group(1)


def filed_in_app(bus: LocalBus, sub: str = "anna") -> str:
    response = bus.request("POST", "/app/v1/requests", headers=auth(sub), json_body=STREET)
    assert response.status == 201, response.text
    return str(response.json()["reference"])


def stored(reference: str) -> dict[str, Any]:
    record = RequestStore().get(reference)
    assert record is not None
    return dict(record)


def reopen_in_app(bus: LocalBus, reference: str, note: str = "", sub: str = "anna") -> Any:
    return bus.request(
        "POST",
        f"/app/v1/requests/{reference}/reopen",
        headers=auth(sub),
        json_body={"note": note} if note else {},
    )


def test_reopen_by_sms_reaches_the_agency_and_restarts_the_sla(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = filed_by_sms(bus)
    agency_sets(bus, reference, "in_progress", "resolved")
    before = stored(reference)
    assert before["status"] == "resolved" and "expires_at" in before
    later = clock.now() + timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    reply = text_bus(bus, ANNA, f"ÖPPNA {reference} hålet är kvar")
    assert "öppnat igen" in reply and reference in reply
    after = stored(reference)
    assert after["status"] == "reopened"
    # The SLA clock starts again: a new expected date, back in the deadline index, and no
    # retention expiry while it is open.
    assert after["expected_at"] == clock.iso(later + timedelta(days=14)) > before["expected_at"]
    assert after["due"] == "open" and "expires_at" not in after
    entry = after["history"][-1]
    assert entry == {
        "status": "reopened",
        "at": entry["at"],
        "by": "citizen:sms",
        "note": "hålet är kvar",
    }
    bus.pump()
    events = [m["detail"] for m in bus.queue_messages(agency_queue("streets"))]
    reopened = [e for e in events if e["data"]["status"] == "reopened"]
    assert len(reopened) == 1
    assert reopened[0]["type"] == "org.citizenbus.request.status_changed.v1"
    assert reopened[0]["data"]["previous_status"] == "resolved"
    assert reopened[0]["data"]["note"] == "hålet är kvar"
    # Then the agency takes it up again (and may resolve it again).
    agency_sets(bus, reference, "in_progress", "resolved")
    # Open311 shows it open while reopened, and never the citizen's note.
    text_bus(bus, ANNA, f"REOPEN {reference}")  # same day: refused (once a day), see below
    public = bus.request("GET", f"/open311/v2/requests/{reference}.json").json()[0]
    assert public.get("status_notes") in (None, "")


def test_english_and_finnish_words_reopen_too(bus: LocalBus) -> None:
    reference = filed_by_sms(bus)
    agency_sets(bus, reference, "in_progress", "resolved")
    assert "is reopened" in text_bus(bus, ANNA, f"REOPEN {reference} still broken")
    agency_sets(bus, reference, "in_progress", "resolved")
    assert "avattiin uudelleen jo tänään" in text_bus(bus, ANNA, f"AVAA {reference}")
    assert stored(reference)["status"] == "resolved"


def test_sms_reopen_of_someone_elses_request_is_not_found(bus: LocalBus) -> None:
    reference = filed_by_sms(bus)
    agency_sets(bus, reference, "in_progress", "resolved")
    reply = text_bus(bus, BERIT, f"ÖPPNA {reference} mitt eget?")
    assert "hittar inget ärende" in reply
    assert stored(reference)["status"] == "resolved"


def test_sms_explains_what_cannot_be_reopened(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = filed_by_sms(bus)
    assert "inte klart" in text_bus(bus, ANNA, f"ÖPPNA {reference}")  # received: not resolved
    assert "Skriv ÖPPNA" in text_bus(bus, ANNA, "ÖPPNA")
    agency_sets(bus, reference, "in_progress", "resolved")
    later = clock.now() + timedelta(days=31)  # street-damage: reopen_days 30
    monkeypatch.setattr(clock, "now", lambda: later)
    reply = text_bus(bus, ANNA, f"ÖPPNA {reference} igen")
    assert "mer än 30 dagar" in reply and "nytt ärende" in reply
    assert stored(reference)["status"] == "resolved"


def test_reopen_in_the_app(bus: LocalBus) -> None:
    reference = filed_in_app(bus)
    assert reopen_in_app(bus, reference).status == 409  # received: not resolved
    agency_sets(bus, reference, "in_progress", "resolved")
    assert reopen_in_app(bus, reference, sub="mallory").status == 404
    response = reopen_in_app(bus, reference, note="Still a hole")
    assert response.status == 200, response.text
    body = response.json()
    assert body["status"] == "reopened" and body["history"][-1]["by"] == "citizen:app"
    assert body["history"][-1]["note"] == "Still a hole"
    # Bad input: a clear 400, nothing changed.
    bad = bus.request(
        "POST", f"/app/v1/requests/{reference}/reopen", headers=auth("anna"), json_body={"x": 1}
    )
    assert bad.status == 400
    # From reopened the agency goes on; it may not reopen itself.
    agency_sets(bus, reference, "in_progress", "resolved")
    refused = bus.request(
        "POST",
        f"/agency/v1/requests/{reference}/status",
        headers=STREETS,
        json_body={"status": "reopened"},
    )
    assert refused.status == 409
    # Once a day at most, and three times per request at most.
    assert reopen_in_app(bus, reference).status == 409


def test_three_reopens_at_most(bus: LocalBus, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = filed_in_app(bus)
    agency_sets(bus, reference, "in_progress", "resolved")
    start = clock.now()
    for day in range(4):
        moment = start + timedelta(days=day * 2)
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        response = reopen_in_app(bus, reference)
        if day < 3:
            assert response.status == 200, response.text
            agency_sets(bus, reference, "in_progress", "resolved")
        else:
            assert response.status == 409
            assert "too many" in response.text
    assert sum(h["status"] == "reopened" for h in stored(reference)["history"]) == 3


def test_the_window_passed_is_409_in_the_app(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = filed_in_app(bus)
    agency_sets(bus, reference, "in_progress", "resolved")
    later = clock.now() + timedelta(days=30, hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = reopen_in_app(bus, reference)
    assert response.status == 409 and "window" in response.text


def _look_up_with_code(bus: LocalBus, reference: str, contact: str) -> dict[str, Any]:
    json_headers = {"Accept": "application/json"}
    fields = {"reference": reference, "contact": contact}
    asked = bus.request("POST", "/status/code", headers=json_headers, json_body=fields)
    assert asked.status == 202, asked.text
    bus.pump()
    answer = bus.request(
        "POST", "/status", headers=json_headers, json_body=fields | {"code": last_code(bus)}
    )
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_reopen_on_the_web_status_page_after_the_code(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    confirmed(email="anna@example.se")
    filed = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={"address": "Storgatan 1", "email": "anna@example.se", "notify_by": "none"},
    )
    reference = str(filed.json()["reference"])
    # Before it is resolved the page offers no reopening.
    assert "reopen_token" not in _look_up_with_code(bus, reference, "anna@example.se")
    agency_sets(bus, reference, "in_progress", "resolved")
    token = _look_up_with_code(bus, reference, "anna@example.se")["reopen_token"]
    json_headers = {"Accept": "application/json"}
    # One hex digit of the signature changed (never to itself: a fixed "00" ending
    # was the real signature once in 256 runs).
    flipped = "1" if token[-1] == "0" else "0"
    forged = {"reference": reference, "token": token[:-1] + flipped, "note": "x"}
    assert (
        bus.request("POST", "/status/reopen", headers=json_headers, json_body=forged).status == 403
    )
    fields = {"reference": reference, "token": token, "note": "Hålet är kvar"}
    done = bus.request("POST", "/status/reopen", headers=json_headers, json_body=fields)
    assert done.status == 200, done.text
    after = stored(reference)
    assert after["status"] == "reopened" and after["history"][-1]["by"] == "citizen:web"
    # The token is single use: the request changed.
    again = bus.request("POST", "/status/reopen", headers=json_headers, json_body=fields)
    assert again.status == 403
    # The HTML page has the form (after the code; two days later: once a day at most).
    agency_sets(bus, reference, "in_progress", "resolved")
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    fields = {"reference": reference, "contact": "anna@example.se"}
    bus.request("POST", "/en/status/code", headers=json_headers, json_body=fields)
    bus.pump()
    form = urlencode(fields | {"code": last_code(bus)})
    html = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}
    page = bus.request("POST", "/en/status", headers=html, body=form)
    assert 'id="reopen"' in page.text and "Reopen the request" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    form = urlencode({"reference": reference, "token": token, "note": "Fortfarande trasigt"})
    done_page = bus.request("POST", "/en/status/reopen", headers=html, body=form)
    assert done_page.status == 200 and "is reopened" in done_page.text
    assert stored(reference)["status"] == "reopened"
    assert [m for m in outbox(bus) if m["channel"] == "email"]


def test_the_example_agency_back_end_takes_a_reopened_request_up_again(bus: LocalBus) -> None:
    import json

    from cloudevents.core.bindings.http import HTTPMessage, from_http
    from cloudevents.core.formats.json import JSONFormat

    from examples.agency_backend import STATUS_CHANGED, AgencyBackend

    calls: list[tuple[str, str, dict[str, Any]]] = []

    class Recording(AgencyBackend):
        def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
            calls.append((method, path, body))
            response = bus.request(method, path, headers=STREETS, json_body=body)
            assert response.status == 200, response.text
            return dict(response.json())

    reference = filed_in_app(bus)
    agency_sets(bus, reference, "in_progress", "resolved")
    assert reopen_in_app(bus, reference, note="Still there").status == 200
    bus.pump()
    [event] = [
        m["detail"]
        for m in bus.queue_messages(agency_queue("streets"))
        if m["detail"]["data"]["status"] == "reopened"
    ]
    delivered = HTTPMessage(
        {"content-type": "application/cloudevents+json"}, json.dumps(event).encode()
    )
    backend = Recording("http://127.0.0.1:8000", "local-streets-key")
    backend.handle(from_http(delivered, JSONFormat()))
    assert event["type"] == STATUS_CHANGED
    assert calls == [
        (
            "POST",
            f"/agency/v1/requests/{reference}/status",
            {"status": "in_progress", "note": "Reopened: we are looking at it again."},
        )
    ]
    assert stored(reference)["status"] == "in_progress"


def test_open_data_counts_a_reopened_request(bus: LocalBus) -> None:
    """A reopened request is open again in Open311 and a status row of its own in the stats
    (the stats answered 400 once a request was reopened)."""
    reference = filed_in_app(bus)
    agency_sets(bus, reference, "in_progress", "resolved")
    assert reopen_in_app(bus, reference, note="Still a hole").status == 200
    bus.pump()
    [public] = bus.request("GET", f"/open311/v2/requests/{reference}.json").json()
    assert public["status"] == "open"
    stats = bus.request("GET", "/open-data/v1/stats.json")
    assert stats.status == 200, stats.text
    assert "reopened" in {row["status"] for row in stats.json()["rows"]}
    assert bus.request("GET", "/open-data/v1/stats.csv").status == 200

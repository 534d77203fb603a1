"""After filing, over real HTTP against ``citizenbus serve`` as a newcomer runs it: "me too" by
SMS and by web form, the verdict by SMS and by the e-mail's one-tap link, and reopening by
SMS, in the app and on the web status page after the one-time code."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from citizenbus.local.phone import post, sms_params
from functions.platform.settings import LOCAL_TWILIO_AUTH_TOKEN
from tests.support.serve import citizenbus_serve
from tests.support.tokens import KEYS, auth

ANNA, BERIT = "+46701740611", "+46701740612"  # Sweden's fictional range
JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def call(base: str, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=JSON | headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        text, status = exc.read().decode(), exc.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def text(base: str, phone: str, body: str) -> str:
    status, twiml = post(f"{base}/channels/sms", sms_params(phone, body), LOCAL_TWILIO_AUTH_TOKEN)
    assert status == 200, twiml
    return twiml


def agency_sets(base: str, reference: str, *statuses: str) -> None:
    for status in statuses:
        code, answer = call(
            base,
            "POST",
            f"/agency/v1/requests/{reference}/status",
            {"status": status},
            **KEYS["streets"],
        )
        assert code == 200, answer


def wait_for[T](found: Callable[[], T], seconds: float = 30) -> T:
    """What ``found`` answers once it answers something (the bus's pollers run on their own)."""
    deadline = time.monotonic() + seconds
    while True:
        value = found()
        if value or time.monotonic() > deadline:
            assert value, "nothing arrived in time"
            return value
        time.sleep(0.2)


def sent_to(base: str, to: str, containing: str) -> list[dict[str, Any]]:
    _, messages = call(base, "GET", "/_local/outbox")
    return [m for m in messages if m["to"] == to and containing in m["body"]]


def test_me_too_verdict_and_reopen_over_http_against_serve() -> None:
    with citizenbus_serve() as (base, _):
        # Me too: a neighbour's text and a web form at the same door follow the first request.
        reference = re.search(r"\b\d{10}\b", text(base, ANNA, "GATA Kvarngatan 5 djupt hål"))
        assert reference
        ref = reference.group(0)
        neighbour = text(base, BERIT, "GATA kvarngatan 5")
        assert ref in neighbour and "redan anmält" in neighbour
        form = {"address": "Kvarngatan 5", "email": "cecilia@example.org", "notify_by": "none"}
        code, answer = call(base, "POST", "/eservice/v1/forms/street-damage", form)
        assert code == 200 and answer["duplicate_of"] == ref, answer
        _, [public] = call(base, "GET", f"/open311/v2/requests/{ref}.json")
        assert public["supporters"] == 2

        # The verdict by SMS: asked once after resolved; a 2 offers to reopen; ÖPPNA reopens.
        agency_sets(base, ref, "in_progress", "resolved")
        wait_for(lambda: sent_to(base, ANNA, "siffra"))
        assert f"ÖPPNA {ref}" in text(base, ANNA, "2")
        assert "öppnat igen" in text(base, ANNA, f"ÖPPNA {ref} hålet är kvar")
        _, seen = call(base, "GET", f"/agency/v1/requests/{ref}", **KEYS["streets"])
        assert seen["status"] == "reopened"

        # Reopen in the app.
        app = auth("dora")
        street = {"service_code": "street-damage", "attributes": {"address": "Kvarngatan 9"}}
        code, filed = call(base, "POST", "/app/v1/requests", street, **app)
        assert code == 201, filed
        agency_sets(base, filed["reference"], "in_progress", "resolved")
        path = f"/app/v1/requests/{filed['reference']}/reopen"
        code, reopened = call(base, "POST", path, {"note": "Still there"}, **app)
        assert code == 200 and reopened["status"] == "reopened", reopened

        # The web: the e-mail is confirmed by its button, the verdict answered by one tap, and
        # the status page (after its one-time code) reopens.
        email = "erik@example.org"
        form = {"address": "Kvarngatan 11", "email": email, "notify_by": "email"}
        code, filed = call(
            base, "POST", "/eservice/v1/forms/street-damage", form | {"consent": "on"}
        )
        assert code == 201, filed
        web_ref = filed["reference"]
        [confirm] = wait_for(lambda: sent_to(base, email, "/confirm/"))
        button = re.search(r"https?://[^/\s]+(/(?:en/)?confirm/\S+)", confirm["body"])
        assert button
        status, _ = call(base, "POST", button.group(1), {})
        assert status == 200
        agency_sets(base, web_ref, "in_progress", "resolved")
        [mail] = wait_for(lambda: sent_to(base, email, "/verdict/"))
        link = re.search(r"https?://[^/\s]+(/(?:\w\w/)?verdict/[^\s?]+\?score=4)", mail["body"])
        assert link
        status, page = call(base, "GET", link.group(1), Accept="text/html")
        assert status == 200 and "4" in page
        asked = {"reference": web_ref, "contact": email}
        assert call(base, "POST", "/status/code", asked)[0] == 202
        [coded] = wait_for(lambda: sent_to(base, email, "kod") or sent_to(base, email, "code"))
        one_time = re.search(r"\b(\d{6})\b", coded["body"])
        assert one_time
        status, looked = call(base, "POST", "/status", asked | {"code": one_time.group(1)})
        assert status == 200 and looked.get("reopen_token"), looked
        again = {"reference": web_ref, "token": looked["reopen_token"], "note": "Kvar"}
        status, done = call(base, "POST", "/status/reopen", again)
        assert status == 200, done
        _, seen = call(base, "GET", f"/agency/v1/requests/{web_ref}", **KEYS["streets"])
        assert seen["status"] == "reopened"

"""Access: every route in ``functions/topology.py`` × {no credentials, wrong credentials,
another citizen, another agency, the right owner}, with the status each must answer.

The table is derived from the topology: a route's auth kind (``jwt``, ``agency``, Twilio
signature, Open311 ``api_key``, public) and whether it names someone's resource
(``{reference}``) decide what is expected, so a new route is covered the day it is added.
Forged and replayed Twilio webhooks are refused too (wrong signature, a signature for another
URL, an altered body); Standard Webhooks forgeries are in ``test_input_consumers.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from citizenbus.local.phone import call_params, sid, sms_params
from citizenbus.local.runtime import HttpResponse, LocalBus
from functions import topology
from functions.platform.twilio_webhook import sign
from tests.support.bus import load_event
from tests.support.strategies import tried
from tests.support.tokens import auth

OWNER, STRANGER = "+46701234567", "+46709876543"
OWNER_SUB, STRANGER_SUB = "owner-citizen", "other-citizen"
KEYS = {a: {"Authorization": f"Bearer local-{a}-key"} for a in ("tax", "streets", "waste")}
FORM = "application/x-www-form-urlencoded"
BASE = "http://127.0.0.1:8000"
CASES = ("none", "wrong", "other_citizen", "other_agency", "owner")
RESULTS: dict[str, int] = {"checks": 0}


def checked() -> None:
    """One more request whose status the table asserts."""
    RESULTS["checks"] += 1
    tried("access checks")


@dataclass
class World:
    bus: LocalBus
    app_ref: str  # filed in the app by OWNER_SUB (street-damage: agency streets)
    web_ref: str  # filed on the web with the OWNER phone (street-damage)
    sms_ref: str  # filed by SMS from OWNER
    token: str  # an Open311 POST's token


@pytest.fixture(scope="module")
def world(shared_bus: LocalBus) -> World:
    bus = shared_bus
    app_ref = bus.request(
        "POST",
        "/app/v1/requests",
        headers=auth(OWNER_SUB),
        json_body={"service_code": "street-damage", "attributes": {"address": "Ägarvägen 1"}},
    ).json()["reference"]
    web_ref = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        json_body={"address": "Ägarvägen 2", "phone": OWNER, "notify_by": "sms", "consent": True},
    ).json()["reference"]
    reply = twilio(bus, "/channels/sms", sms_params(OWNER, "GATA Ägarvägen 3")).text
    sms_ref = next(w.strip(".,:") for w in reply.split() if w.strip(".,:").isdigit())
    token = bus.request(
        "POST",
        "/open311/v2/requests.json",
        headers={"Content-Type": FORM},
        body="api_key=local-open311-key&service_code=street-damage&address_string=Storgatan+2",
    ).json()[0]["token"]
    bus.pump()
    bus.invoke("open_data_export", {})  # the bulk files exist, as after the first hourly run
    return World(bus, app_ref, web_ref, sms_ref, token)


def twilio(
    bus: LocalBus, path: str, params: dict[str, str], signature: str | None = None, url: str = ""
) -> HttpResponse:
    headers = {"Content-Type": FORM}
    if signature != "":
        headers["X-Twilio-Signature"] = signature or sign(url or BASE + path, params)
    return bus.request("POST", path, headers=headers, body=urlencode(params))


def token(sub: str, **changes: Any) -> dict[str, str]:
    from citizenbus.local.runtime import DEFAULT_JWT_SECRET

    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + 600} | changes
    secret = changes.pop("secret", None) or DEFAULT_JWT_SECRET
    claims.pop("secret", None)
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}


WRONG_TOKENS = (
    {"Authorization": "Bearer not.a.jwt"},
    {"Authorization": "Basic b3duZXI6cGFzcw=="},
    {"Authorization": "Bearer"},
    token(OWNER_SUB, secret="someone-elses-secret-that-is-long-enough"),
    token(OWNER_SUB, exp=int(time.time()) - 60),  # expired
)
WRONG_KEYS = (
    {"Authorization": "Bearer local-streets-key-2"},
    {"Authorization": "Bearer "},
    {"Authorization": "local-streets-key"},
    {"Authorization": "Basic local-streets-key"},
)


def fill(path: str, world: World, reference: str | None = None) -> str:
    values = {
        "reference": reference or world.app_ref,
        "service_code": "street-damage",
        "name": "site.css",
        "resource": "services.json",
        "service": "street-damage.json",
        "request": f"{world.web_ref}.json",
        "token": f"{world.token}.json",
        "kind": "email",
        "lang": "ar",  # every language's pages: the right-to-left one stands for them
    }
    if path.startswith("/open-data/v1/bulk/"):
        values["name"] = "dictionary.json"
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"add a value for the new path parameter in {path}"
    return path


def body_for(route: topology.Route) -> Any:
    return {
        ("POST", "/app/v1/requests"): {
            "service_code": "street-damage",
            "attributes": {"address": "Storgatan 9"},
        },
        ("PUT", "/app/v1/me/preferences"): {"notify_by": "none", "consent": False},
        ("POST", "/app/v1/me/contacts"): {"email": "someone@example.se"},
        ("POST", "/app/v1/me/contacts/verify"): {"email": "someone@example.se", "code": "000000"},
        ("PUT", "/agency/v1/subscriptions"): {
            "url": "http://127.0.0.1:9/hook",
            "types": ["org.citizenbus.request.submitted.v1"],
        },
        ("POST", "/agency/v1/requests/{reference}/status"): {"status": "in_progress"},
        ("POST", "/app/v1/requests/{reference}/reopen"): {"note": "still there"},
        ("POST", "/app/v1/requests/{reference}/verdict"): {"score": 5},
        ("POST", "/eservice/v1/forms/{service_code}"): {
            "address": "Storgatan 9",
            "email": "someone@example.se",
            "notify_by": "email",
            "consent": True,
        },
    }.get((route.method, route.path))


def call(
    world: World,
    route: topology.Route,
    headers: dict[str, str],
    ref: str | None = None,
    path: str | None = None,
) -> HttpResponse:
    checked()
    body = body_for(route)
    target = path or fill(route.path, world, ref)
    if body is None:
        return world.bus.request(route.method, target, headers=headers)
    return world.bus.request(route.method, target, headers=headers, json_body=body)


def expect(response: HttpResponse, statuses: set[int] | range, case: str) -> None:
    assert response.status in statuses, (case, response.status, response.body[:200])
    if response.status in (401, 403) and "json" in response.headers.get("Content-Type", ""):
        body = response.json()
        if isinstance(body, list):  # Open311 error array
            assert body[0]["description"]
        else:
            assert body["errors"][0]["message"]


# -- the table ------------------------------------------------------------------------------
OK = range(200, 400)


def jwt_route(world: World, route: topology.Route, case: str) -> None:
    owner = token(OWNER_SUB)
    if case == "none":
        expect(call(world, route, {}), {401}, case)
    elif case == "wrong":
        for headers in WRONG_TOKENS:
            expect(call(world, route, headers), {401}, case)
    elif case == "other_citizen":
        response = call(world, route, token(STRANGER_SUB))
        if "{reference}" in route.path:
            expect(response, {403, 404}, case)
        elif route.path.endswith("/verify"):  # a code nobody was sent is wrong for everyone
            expect(response, {400}, case)
        else:  # a collection or one's own settings: only the caller's own
            expect(response, OK, case)
        assert world.app_ref not in response.text and "Ägarvägen" not in response.text
    elif case == "owner":
        response = call(world, route, owner)
        if route.path.endswith(("/reopen", "/verdict")):  # past the owner check: the request
            expect(response, {409}, case)  # is not resolved, and nobody asked a question
            return
        expect(response, {400} if route.path.endswith("/verify") else OK, case)
        if route.method == "GET" and route.path.startswith("/app/v1/requests"):
            assert world.app_ref in response.text


def agency_route(world: World, route: topology.Route, case: str) -> None:
    if case == "none":
        expect(call(world, route, {}), {401}, case)
    elif case == "wrong":
        for headers in WRONG_KEYS:
            expect(call(world, route, headers), {401}, case)
    elif case == "other_agency":
        for agency in ("tax", "waste"):
            response = call(world, route, KEYS[agency])
            if "{reference}" in route.path:
                expect(response, {403, 404}, case)
                assert "Ägarvägen" not in response.text and OWNER not in response.text
            else:  # the agency's own subscription
                expect(response, OK, case)
    elif case == "owner":
        expect(call(world, route, KEYS["streets"]), OK, case)


def twilio_route(world: World, route: topology.Route, case: str) -> None:
    path = route.path
    params = {
        "/channels/sms": sms_params(OWNER, f"STATUS {world.sms_ref}"),
        "/channels/sms/status": dict(load_event("twilio/sms_status_delivered.json")["params"]),
        "/channels/voice": call_params(OWNER, sid("CA")),
    }[path]
    if case == "none":
        response = twilio(world.bus, path, params, signature="")
        checked()
        expect(response, {403}, case)
    elif case == "wrong":
        good = sign(BASE + path, params)
        forged = (
            twilio(world.bus, path, params, signature="bm90IGEgc2lnbmF0dXJl"),
            twilio(world.bus, path, params, signature=sign(BASE + path, params, "other-token")),
            twilio(world.bus, path, params, url=BASE + "/channels/elsewhere"),  # another URL
            twilio(world.bus, path, params, url="https://evil.example" + path),
            twilio(world.bus, path, params | {"Body": "STOP"}, signature=good),  # body altered
            twilio(world.bus, path, params | {"Extra": "1"}, signature=good),  # parameter added
        )
        for response in forged:
            checked()
            expect(response, {403}, case)
            assert "<Message>" not in response.text
    elif case == "other_citizen" and path == "/channels/sms":
        response = twilio(world.bus, path, sms_params(STRANGER, f"STATUS {world.sms_ref}"))
        expect(response, {200}, case)
        assert "Ägarvägen" not in response.text and "received" not in response.text.lower()
        checked()
    elif case == "owner":
        response = twilio(world.bus, path, params)
        expect(response, OK, case)
        checked()
        if path == "/channels/sms":  # the owner does get their own status
            assert world.sms_ref in response.text


def public_route(world: World, route: topology.Route, case: str) -> None:
    path = fill(route.path, world)
    if "/receipt/" in route.path:
        path += "?service=street-damage"
    if route.path == "/open311/v2/{resource}" and route.method == "POST":
        target = "/open311/v2/requests.json"
        form = "service_code=street-damage&address_string=Storgatan+5"
        headers = {"Content-Type": FORM}
        post = world.bus.request
        if case == "none":
            expect(post("POST", target, headers=headers, body=form), {401}, case)
        elif case == "wrong":
            answer = post("POST", target, headers=headers, body=form + "&api_key=guess")
            expect(answer, {403}, case)
        elif case == "owner":
            answer = post("POST", target, headers=headers, body=form + "&api_key=local-open311-key")
            expect(answer, {201}, case)
        checked()
        return
    if route.path.endswith("/status/code"):  # anyone may ask; only the owner's contact hears
        # (the SMS request: the web one has had its 10 look-ups in 15 minutes by now)
        lookup = {"reference": world.sms_ref, "contact": OWNER}
        headers = {"Accept": "application/json"}
        mine = world.bus.request("POST", path, headers=headers, json_body=lookup)
        theirs = world.bus.request(
            "POST", path, headers=headers, json_body=lookup | {"contact": STRANGER}
        )
        expect(mine, {202}, case)
        expect(theirs, {202}, case)
        assert mine.body == theirs.body and OWNER not in mine.text  # nothing learned
        checked()
        return
    if "/confirm/" in route.path:  # a made-up confirmation token confirms nothing
        response = world.bus.request(route.method, path, headers={"Content-Type": FORM}, body="")
        expect(response, {404}, case)
        checked()
        return
    if route.path.endswith("/status/reopen"):  # only with the token the code's page gave
        forged = {"reference": world.web_ref, "token": f"1.{int(time.time()) + 600}.{'0' * 32}"}
        response = world.bus.request(
            "POST", path, headers={"Accept": "application/json"}, json_body=forged
        )
        expect(response, {403}, case)
        checked()
        return
    if "/verdict/" in route.path:  # a made-up verdict token answers nothing
        response = world.bus.request("GET", path + "?score=1")
        expect(response, {404}, case)
        checked()
        return
    if route.path in ("/status", "/{lang}/status") and route.method == "POST":
        lookup = {"reference": world.web_ref, "contact": OWNER}
        headers = {"Accept": "application/json"}
        post = world.bus.request
        if case == "other_citizen":
            for contact in (STRANGER, "anna@example.se", "0"):
                answer = post(
                    "POST", path, headers=headers, json_body=lookup | {"contact": contact}
                )
                expect(answer, {404}, case)
                assert "Ägarvägen" not in answer.text
                checked()
            unknown = post(
                "POST",
                path,
                headers=headers,
                json_body={"reference": "1234567897", "contact": OWNER},
            )
            assert unknown.json() == answer.json()  # someone else's = unknown: nothing learned
        elif case == "owner":
            expect(post("POST", path, headers=headers, json_body=lookup), {200}, case)
            checked()
        return
    if case == "none":  # public: anyone may read, no credentials needed
        response = call(world, route, {}, path=path)
        expect(response, OK, case)
        assert OWNER not in response.text


RULES: dict[str, Callable[[World, topology.Route, str], None]] = {
    "jwt": jwt_route,
    "agency": agency_route,
}


def rule(route: topology.Route) -> Callable[[World, topology.Route, str], None]:
    if route.path.startswith("/channels/"):
        return twilio_route
    return RULES.get(route.auth, public_route)


ALL_ROUTES = [r for fn in topology.FUNCTIONS for r in fn.routes]


def applicable(route: topology.Route, case: str) -> bool:
    """Which credential cases a route has (a public page has no owner or wrong key)."""
    if route.path.startswith("/channels/"):
        return case in ("none", "wrong", "owner") or (
            case == "other_citizen" and route.path == "/channels/sms"
        )
    if route.auth == "jwt":
        return case != "other_agency"
    if route.auth == "agency":
        return case != "other_citizen"
    if route.method == "POST" and route.path == "/open311/v2/{resource}":
        return case in ("none", "wrong", "owner")
    if route.method == "POST" and route.path in ("/status", "/{lang}/status"):
        return case in ("other_citizen", "owner")
    return case == "none"  # public: anyone, without credentials


TABLE = [(r, c) for r in ALL_ROUTES for c in CASES if applicable(r, c)]


@pytest.mark.parametrize(
    ("route", "case"), TABLE, ids=lambda x: x if isinstance(x, str) else f"{x.method} {x.path}"
)
def test_route_access(world: World, route: topology.Route, case: str) -> None:
    checks = RESULTS["checks"]
    rule(route)(world, route, case)
    assert RESULTS["checks"] > checks, "every case sends at least one request"


def test_every_route_is_in_the_table() -> None:
    kinds = {r.auth for r in ALL_ROUTES}
    assert kinds <= {"none", *RULES}, f"a new auth kind needs a rule: {kinds - {'none', *RULES}}"
    # Every route names a function, and every function behind a route is reachable.
    assert len(ALL_ROUTES) == len({(r.method, r.path) for r in ALL_ROUTES})


def test_a_replayed_twilio_message_files_once_and_answers_the_same(world: World) -> None:
    params = sms_params(OWNER, "GATA Replaygatan 1")
    first = twilio(world.bus, "/channels/sms", params)
    count = _count_requests()
    again = twilio(world.bus, "/channels/sms", params)  # Twilio retries: same MessageSid
    assert again.status == 200 and again.text == first.text
    assert _count_requests() == count
    # The same signed request replayed to another route is refused.
    replay = world.bus.request(
        "POST",
        "/channels/voice",
        headers={"Content-Type": FORM, "X-Twilio-Signature": sign(BASE + "/channels/sms", params)},
        body=urlencode(params),
    )
    assert replay.status == 403


def _count_requests() -> int:
    import boto3

    return int(
        boto3.client("dynamodb").scan(TableName="citizenbus-requests", Select="COUNT")["Count"]
    )

"""The local operator routes: JSON only, the operator's bearer token, ``Host`` checked."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from urllib.error import HTTPError

import pytest

from citizenbus import cli
from citizenbus.local.runtime import LocalBus
from citizenbus.local.server import OperatorServer, make_server, served_host
from functions.domain.requests.store import RequestStore
from tests.support.serve import citizenbus_serve
from tests.support.tokens import KEYS
from tests.support.webhooks import file

TOKEN = "operator-token-for-this-test"


@pytest.fixture
def served(bus: LocalBus) -> Iterator[tuple[str, OperatorServer]]:
    server = make_server(bus, "127.0.0.1", 0, TOKEN)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def call(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.loads(response.read() or b"null")
    except HTTPError as err:
        return int(err.code), json.loads(err.read() or b"null")


def test_a_web_pages_simple_form_post_cannot_erase(
    bus: LocalBus, served: tuple[str, OperatorServer]
) -> None:
    base, _ = served
    reference = file(bus, "street-damage", {"address": "Storgatan 1"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for data, headers in (
        (b"phone=0701234567", form),  # what any web page can post without a preflight
        (b'{"phone": "0701234567"}', {"Content-Type": "text/plain"}),  # also "simple"
        (b'{"phone": "0701234567"}', {"Content-Type": "application/json"}),  # no token
        (
            b'{"phone": "0701234567"}',
            {"Content-Type": "application/json", "Authorization": "Bearer wrong"},
        ),
    ):
        status, answer = call(f"{base}/_local/erase", data, headers)
        assert status == 401, (headers, answer)
        assert answer["errors"][0]["field"] == "authorization"
    # With the token, JSON only.
    status, answer = call(
        f"{base}/_local/erase", b"phone=0701234567", form | {"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 415 and answer["errors"][0]["field"] == "content-type"
    assert "erasure" not in bus.invocations
    record = RequestStore().get(reference)
    assert record is not None and record.get("contact", {}).get("phone")  # untouched
    status, answer = call(
        f"{base}/_local/erase",
        b'{"phone": "0701234567"}',
        {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 200, answer
    assert answer["erased"]["requests"] == 1


def test_redrive_needs_the_token_and_a_get_is_refused(
    bus: LocalBus, served: tuple[str, OperatorServer]
) -> None:
    base, _ = served
    assert call(f"{base}/_local/redrive", b"{}", {"Content-Type": "application/json"})[0] == 401
    assert call(f"{base}/_local/redrive")[0] == 405
    assert "redrive" not in bus.invocations
    status, answer = call(
        f"{base}/_local/redrive",
        b"{}",
        {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 200 and set(answer["moved"]) == {"tax", "streets", "waste"}


def test_a_rebinding_host_name_cannot_read_the_local_routes(
    bus: LocalBus, served: tuple[str, OperatorServer]
) -> None:
    base, server = served
    port = server.server_port
    file(bus, "street-damage", {"address": "Storgatan 1"})
    for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1:{port + 1}", ""):
        for path in ("/_local/outbox", "/_local/queues", "/_local/queues/streets"):
            status, answer = call(f"{base}{path}", headers={"Host": host})
            assert status == 421, (host, path)
            assert answer["errors"][0]["field"] == "host"
        status, _ = call(
            f"{base}/_local/redrive",
            b"{}",
            {"Host": host, "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        assert status == 421
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert call(f"{base}/_local/queues", headers={"Host": host})[0] == 200
    # The public routes are not the local ones: API Gateway's Host is any name.
    assert call(f"{base}/healthz", headers={"Host": "bus.example.org"})[0] == 200


def test_served_host() -> None:
    assert served_host("127.0.0.1:8000", 8000)
    assert served_host("LOCALHOST:8000", 8000)
    assert served_host("192.168.1.20:8000", 8000)  # an address literal cannot be rebound
    assert served_host("bus.example.org", 8000, "bus.example.org")  # the public URL's host
    assert not served_host("bus.example.org:8000", 8000, "other.example.org")
    assert not served_host("127.0.0.1", 8000)
    assert not served_host("[::1]", 8000)


def test_the_local_commands_send_the_token_from_the_environment(
    bus: LocalBus,
    served: tuple[str, OperatorServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, _ = served
    monkeypatch.delenv("CITIZENBUS_OPERATOR_TOKEN", raising=False)
    assert cli.main(["redrive", "--local", base]) == 2
    assert "CITIZENBUS_OPERATOR_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("CITIZENBUS_OPERATOR_TOKEN", "not-the-token")
    assert cli.main(["redrive", "--local", base]) == 2
    monkeypatch.setenv("CITIZENBUS_OPERATOR_TOKEN", TOKEN)
    assert cli.main(["redrive", "--local", base]) == 0
    assert "streets: 0 message(s)" in capsys.readouterr().out


def test_serve_prints_a_random_operator_token_and_requires_it() -> None:
    with citizenbus_serve() as (base, banner):
        line = next(x for x in banner.splitlines() if "CITIZENBUS_OPERATOR_TOKEN =" in x)
        token = line.split("=", 1)[1].strip()
        assert len(token) >= 32
        url = f"{base}/_local/redrive"
        assert call(url, b"{}", {"Content-Type": "application/json"})[0] == 401
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        assert call(url, b"{}", headers)[0] == 200
        # ready to paste into the terminal that runs citizenbus seed or erase/redrive --local
        assert f"export CITIZENBUS_OPERATOR_TOKEN={token}" in banner
    with citizenbus_serve() as (_, other):
        assert line not in other  # random per run


def test_serving_beyond_loopback_warns_and_refuses_the_printed_default_keys() -> None:
    with citizenbus_serve(host="0.0.0.0") as (base, banner):
        assert "WARNING" in banner and "0.0.0.0" in banner
        assert "local-streets-key" not in banner and "local-open311-key" not in banner
        assert "local-jwt-secret" not in banner
        status, answer = call(
            f"{base}/agency/v1/requests/1234567897", headers=dict(KEYS["streets"])
        )
        assert status == 401, answer
        status, answer = call(
            f"{base}/open311/v2/requests.json",
            b"api_key=local-open311-key&service_code=street-damage&address_string=Storgatan+1",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status in (400, 401, 403), answer
        assert "service_request_id" not in json.dumps(answer)
    with citizenbus_serve() as (base, banner):  # on loopback the defaults still work
        assert "WARNING" not in banner
        status, _ = call(f"{base}/agency/v1/requests/1234567897", headers=dict(KEYS["streets"]))
        assert status == 404

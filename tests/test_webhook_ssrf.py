"""Webhook SSRF: delivery connects to the address it checked, and no IPv6 disguise passes."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.urls import UnsafeUrl, check_url, resolve
from schemas.events import SUBMITTED
from tests.support.tokens import KEYS
from tests.support.webhooks import FAST, file

HOOK = "hooks.agency.example"
PUBLIC = "93.184.216.34"
INSIDE = "127.0.0.1"


class RebindingResolver:
    """DNS for ``HOOK`` that answers a public address ``honest`` times, then an inside one
    (what a rebinding attacker's name server does); every other name resolves as usual."""

    def __init__(self, honest: int) -> None:
        self.honest = honest
        self.asked = 0
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != HOOK:
            return self.real(host, port, *args, **kwargs)
        self.asked += 1
        address = PUBLIC if self.asked <= self.honest else INSIDE
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every TCP connection attempted, by the address it went to; none gets through (as
    ``socket.create_connection`` does: a name is resolved, then the address connected)."""
    connected: list[str] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        host, port = address
        connected.append(str(socket.getaddrinfo(host, port)[0][4][0]))
        raise ConnectionRefusedError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return connected


def test_delivery_connects_to_the_checked_address_when_dns_rebinds(
    monkeypatch: pytest.MonkeyPatch, network: list[str]
) -> None:
    # Honest for the subscription's check and the delivery's check, then it points inside.
    resolver = RebindingResolver(honest=2)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with LocalBus(env=FAST) as bus:
        response = bus.request(
            "PUT",
            "/agency/v1/subscriptions",
            headers=KEYS["streets"],
            json_body={"url": f"https://{HOOK}/events", "types": [SUBMITTED]},
        )
        assert response.status == 200, response.text
        file(bus, "street-damage", {"address": "Storgatan 1"})
        bus.pump(max_rounds=3)
    assert network, "the delivery was attempted"
    assert INSIDE not in network  # the rebound answer is never connected to
    assert set(network) == {PUBLIC}
    # A later delivery attempt checks again, sees the inside address and does not connect.
    assert resolver.asked >= 3


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (instance metadata)
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo (embeds 10.0.0.1 obfuscated)
        "::a00:1",  # IPv4-compatible 10.0.0.1
        "::ffff:10.0.0.1",  # IPv4-mapped private
        "::ffff:169.254.169.254",
    ],
)
def test_ipv6_forms_that_embed_an_ipv4_address_are_refused(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(f"https://[{address}]/hook", local=False)
    # and the same address behind a host name (an AAAA record)
    real = socket.getaddrinfo

    def aaaa(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == HOOK:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", aaaa)
    with pytest.raises(UnsafeUrl):
        check_url(f"https://{HOOK}/hook", local=False)


def test_public_addresses_still_pass_and_the_target_keeps_the_host_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for address in ("2606:4700:4700::1111", "::ffff:8.8.8.8", "8.8.8.8"):
        host = f"[{address}]" if ":" in address else address
        assert check_url(f"https://{host}/hook", local=False) == f"https://{host}/hook"
    monkeypatch.setattr(socket, "getaddrinfo", RebindingResolver(honest=1))
    target = resolve(f"https://{HOOK}:8443/events?agency=streets", local=False)
    assert (target.host, target.port, target.addresses) == (HOOK, 8443, (PUBLIC,))
    assert target.path == "/events?agency=streets"

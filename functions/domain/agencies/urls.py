"""Which webhook URLs the bus may POST to, and the addresses it may connect to for them.

The URL must be HTTPS and resolve only to public addresses, so the bus cannot be pointed at
its own network (private, loopback, link-local, reserved addresses are refused, and so are
the IPv6 forms that carry an IPv4 address inside them: NAT64 ``64:ff9b::/96`` and
``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo ``2001::/32``, IPv4-compatible ``::/96``, and
IPv4-mapped ``::ffff:0:0/96`` when the address inside is not public). In local mode
``http://127.0.0.1``/``localhost`` is allowed too so a developer can receive on their laptop.

:func:`resolve` answers the addresses it checked; delivery connects to one of those and
nothing else (the host name stays for TLS SNI, certificate check and ``Host``), so a DNS
answer that changes between the check and the connection (rebinding) cannot reach inside.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from functions.platform.settings import get_settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes whose addresses are an IPv4 address in disguise (translated or tunnelled):
# refused whatever they carry, since a gateway on the way may lead inside.
EMBEDDING_NETWORKS = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "64:ff9b::/96",  # NAT64 well-known prefix (RFC 6052)
        "64:ff9b:1::/48",  # NAT64 local-use prefix (RFC 8215)
        "2002::/16",  # 6to4 (RFC 3056)
        "2001::/32",  # Teredo (RFC 4380)
        "::/96",  # IPv4-compatible (deprecated, RFC 4291)
    )
)


class UnsafeUrl(ValueError):
    """The webhook URL may not be used; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked webhook URL and the addresses delivery may connect to for it."""

    url: str
    scheme: str
    host: str  # for TLS SNI, the certificate check and the Host header
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # checked; connect to these only, in order


def is_public(address: Address) -> bool:
    """An address the bus may call: global unicast, and no private IPv4 inside an IPv6 form."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if any(address in network for network in EMBEDDING_NETWORKS):
            return False
    return address.is_global and not address.is_multicast


def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl("the host name does not resolve") from exc
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not found:
        raise UnsafeUrl("the host name does not resolve")
    return list(dict.fromkeys(found))


def resolve(url: str, *, local: bool | None = None) -> Target:
    """Check a webhook URL and resolve it once; raises :class:`UnsafeUrl`.

    Checked when an agency subscribes and again before every delivery (a name may resolve
    elsewhere later); the delivery then connects to the addresses checked here.
    """
    local = get_settings().local if local is None else local
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("not a valid URL") from exc
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must be https://host/path")
    if parts.username or parts.password:
        raise UnsafeUrl("the URL may not carry credentials")
    loopback = local and host in LOOPBACK_NAMES
    if parts.scheme != "https" and not loopback:
        raise UnsafeUrl("the URL must use https")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _addresses(host, port)
    if not loopback:
        for address in addresses:
            if not is_public(address):
                raise UnsafeUrl("the URL must point at a public address")
    elif not all(a.is_loopback for a in addresses):
        raise UnsafeUrl("the URL must point at a public address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.geturl(), parts.scheme, host, port, path, tuple(map(str, addresses)))


def check_url(url: str, *, local: bool | None = None) -> str:
    """Refuse a webhook URL the bus must not call; returns it normalised."""
    return resolve(url, local=local).url

"""Which webhook URLs the bus may POST to.

The URL must be HTTPS and resolve only to public addresses, so the bus cannot be pointed at
its own network (private, loopback, link-local, reserved addresses are refused); in local mode
``http://127.0.0.1``/``localhost`` is allowed too so a developer can receive on their laptop.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from functions.platform.settings import get_settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class UnsafeUrl(ValueError):
    """The webhook URL may not be used; the message says why."""


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl("the host name does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str, *, local: bool | None = None) -> str:
    """Refuse a webhook URL the bus must not call; returns it normalised.

    Checked when an agency subscribes and again before every delivery (a name may resolve
    elsewhere later).
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
    if not loopback:
        for address in _addresses(host, port or 443):
            if not address.is_global or address.is_multicast:
                raise UnsafeUrl("the URL must point at a public address")
    return parts.geturl()

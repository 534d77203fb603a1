"""Where ``citizenbus serve`` leaves its operator token for the local commands on this machine.

``citizenbus seed``, ``erase --local`` and ``redrive --local`` call operator routes that need
the token ``serve`` printed. So a newcomer can run ``make run`` in one terminal and
``citizenbus seed`` in another without copying it, ``serve`` records the token for its port in
``$XDG_RUNTIME_DIR/citizenbus/`` (else ``~/.citizenbus/run/``): the directory 0700, the file
0600, so only the user who started the bus can read it (the same user could read the
process's memory anyway). The file is removed at a clean stop; one left by a ``kill -9`` is
harmless, its token dies with the process, and the next ``serve`` on that port overwrites it.
``CITIZENBUS_OPERATOR_TOKEN`` in the environment always wins. Only a loopback URL is looked
up: a bus on another machine never has its token here.

Only the standard library: the command-line entry imports this for every local command.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit


def directory() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "citizenbus" if runtime else Path.home() / ".citizenbus" / "run"


def path_for(port: int) -> Path:
    return directory() / f"operator-{port}.token"


def record(port: int, token: str) -> Path | None:
    """Write ``token`` for ``port`` (0600 in a 0700 directory); None if it cannot be written
    (a read-only home: the commands then need the variable, as before)."""
    path = path_for(port)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(token)
    except OSError:
        return None
    return path


def forget(path: Path, token: str) -> None:
    """Remove the record at ``path`` if it is still this bus's (a newer ``serve`` on the port
    keeps its own)."""
    try:
        if path.read_text(encoding="ascii") == token:
            path.unlink()
    except OSError:
        pass


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def recorded(base: str) -> str | None:
    """The token a ``serve`` on this machine recorded for the port of ``base``, if any."""
    url = urlsplit(base)
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        return None
    if not url.hostname or not _loopback(url.hostname):
        return None
    path = path_for(port)
    try:
        if path.stat().st_mode & 0o077:  # readable by others: not one this module wrote
            return None
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None

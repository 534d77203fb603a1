"""Every word the bus says to a citizen, per language, as data: one language pack per language.

A pack is a JSON file (``functions/platform/languages/<code>.json``, or the folder named by
``LANGUAGES_PATH``) with the language's name and writing direction, its command words (help,
stop, start, yes, no), its phone voice, the words that tell its texts apart, and the texts of
every channel: ``status`` (status names), ``sms``, ``phone``, ``notify``, ``web`` and
``intake`` (what is wrong with a filing, on every channel). Adding a
language is adding a pack (and the catalog's names in it): no code names a language but the
default's fallback. A text missing from a pack falls back to the default language's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from functions.platform import process
from functions.platform.settings import get_settings

PACKS = Path(__file__).with_name("languages")
DEFAULT = "sv"
SECTIONS = ("status", "sms", "phone", "notify", "web", "intake")


@process.once
def packs() -> dict[str, dict[str, Any]]:
    """Every language pack by its code, in menu order (the default language first)."""
    folder = Path(get_settings().languages_path or PACKS)
    found = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    found.sort(key=lambda p: (p["language"]["code"] != DEFAULT, p["language"].get("order", 99)))
    return {p["language"]["code"]: p for p in found}


def languages() -> tuple[str, ...]:
    """The language codes, default first, then in each pack's ``order``."""
    return tuple(packs())


def known(language: str | None) -> str:
    """``language`` if a pack exists for it, else the default."""
    return language if language in packs() else DEFAULT


def pack(language: str) -> dict[str, Any]:
    return packs()[known(language)]


def meta(language: str) -> dict[str, Any]:
    """The pack's ``language`` block: code, name (its own), dir (ltr/rtl), order."""
    return dict(pack(language)["language"])


def words(kind: str) -> dict[str, str]:
    """A command word of every language (``help``, ``stop``, ``start``, ``yes``, ``no``),
    upper case, to the language it belongs to."""
    out: dict[str, str] = {}
    for code, p in packs().items():
        for word in p.get("words", {}).get(kind, ()):
            out.setdefault(word.upper(), code)
    return out


def section(name: str, language: str) -> dict[str, str]:
    """All texts of a channel in ``language``, the default's filling any gap."""
    texts: dict[str, str] = {**packs()[DEFAULT][name], **pack(language).get(name, {})}
    return texts


def say(channel: str, key: str, language: str, /, **values: str) -> str:
    """One text of a channel in ``language``, filled with ``values``."""
    return section(channel, language)[key].format(**values)


def by_key(name: str) -> dict[str, dict[str, str]]:
    """A channel's texts as ``{key: {language: text}}`` (how templates.json used to be)."""
    out: dict[str, dict[str, str]] = {}
    for code in packs():
        for key, value in section(name, code).items():
            out.setdefault(key, {})[code] = value
    return out


def status_name(status: str, language: str) -> str:
    """The status as a citizen reads it (lower case, to sit inside a sentence)."""
    return section("status", language).get(status, status)


def rtl(language: str) -> bool:
    return meta(language).get("dir") == "rtl"


def path_prefix(language: str) -> str:
    """Where a language's web pages live: the default at ``/``, the others under ``/<code>``."""
    code = known(language)
    return "" if code == DEFAULT else f"/{code}"

"""The citizen's language: remembered from their last interaction, used on every channel.

Every channel answers in the first of: the language the message itself names (an SMS keyword,
the phone menu's choice, the web page's, the app's ``language`` or ``Accept-Language``), else
the language the citizen last used with the bus (on any channel, their linked contacts
included), else the language of the text, else the jurisdiction's default (Swedish).

A language is any code the bus has texts for (:func:`functions.platform.texts.languages`):
adding one is a data change. What was last used sits in the citizens table (``sk =
language``, with where and when); a web form's page language is the request's own
``language`` (the e-service does not write the citizens table), so :func:`last_used` also
weighs the newest request it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from functions.platform import clock, texts
from functions.platform.catalog import get_catalog

if TYPE_CHECKING:
    from functions.domain.citizens.store import CitizenStore
    from functions.domain.requests.records import Request


def supported(language: str | None) -> bool:
    return bool(language) and language in texts.languages()


def choose(*candidates: str | None) -> str:
    """The first supported language of ``candidates``, else the jurisdiction's default."""
    for candidate in candidates:
        if candidate and supported(candidate):
            return candidate
    return get_catalog().jurisdiction.default_language


def remember(citizen: str, language: str | None, source: str, store: CitizenStore) -> None:
    """The citizen used ``language`` (on ``source``, e.g. ``sms:keyword``); unknown codes are
    not kept, and nothing is written when it is already the one remembered."""
    if not supported(language) or language is None:
        return
    known = store.language(citizen)
    if known and known.get("language") == language:
        return
    store.save_language(citizen, language, source)


def last_used(
    ids: Iterable[str], store: CitizenStore, records: Iterable[Request] = ()
) -> str | None:
    """The language most recently used by any of ``ids`` (one person's identities), or by the
    newest of ``records`` (their requests) if that came later (a request whose language was
    only the default, ``language_implied``, does not count); None when nothing is known."""
    seen: list[tuple[datetime, int, str]] = []
    for cid in ids:
        item = store.language(cid)
        if item and item.get("at") and supported(str(item.get("language"))):
            seen.append((clock.parse(str(item["at"])), 1, str(item["language"])))
    for record in records:  # stamped to the second: a tie goes to the above
        if supported(record.get("language")) and not record.get("language_implied"):
            seen.append((clock.parse(record["submitted_at"]), 0, record["language"]))
    return max(seen)[2] if seen else None


def from_accept_language(header: str | None) -> str | None:
    """The most wanted supported language of an ``Accept-Language`` header (``sv-SE`` → sv)."""
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        code = tag.strip().split("-")[0].lower()
        if quality > 0 and supported(code):
            wanted.append((-quality, i, code))
    return min(wanted)[2] if wanted else None

"""Words every channel shares, per language: one source, so an SMS, a phone call, a web page
and a notification name a status the same way."""

from __future__ import annotations

LANGUAGES = ("sv", "en")

STATUS_NAMES: dict[str, dict[str, str]] = {
    "received": {"sv": "mottaget", "en": "received"},
    "in_progress": {"sv": "handläggs", "en": "being handled"},
    "needs_info": {"sv": "vi behöver mer information", "en": "we need more information"},
    "resolved": {"sv": "klart", "en": "resolved"},
    "rejected": {"sv": "avslaget", "en": "rejected"},
}


def status_name(status: str, language: str) -> str:
    """The status as a citizen reads it (lower case, to sit inside a sentence)."""
    names = STATUS_NAMES.get(status, {"sv": status, "en": status})
    return names.get(language, names["sv"])

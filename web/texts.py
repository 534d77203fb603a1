"""The words on the pages, per language: the ``web`` texts of the language packs
(``functions/platform/languages``); the catalog has the service texts."""

from __future__ import annotations

from functions.platform.texts import section, status_name


def text(language: str) -> dict[str, str]:
    """The page texts in ``language`` (the default language's for any text a pack lacks),
    with the status names capitalised: they stand alone on the pages."""
    out = dict(section("web", language))
    for status in section("status", language):
        name = status_name(status, language)
        out[f"status.{status}"] = name[:1].upper() + name[1:]
    return out

"""Which language a page is in: the default's at ``/``, every other pack's under ``/<code>``."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from functions.platform.texts import DEFAULT, languages


def path_language(path: str) -> str:
    """The language of any path (the default's when its first part is none of ours)."""
    first = path.strip("/").partition("/")[0]
    return first if first in languages() else DEFAULT


def page_language(lang: str | None) -> str:
    """The language of a page, ``lang`` its ``/<lang>/…`` part: none of ours (or the
    default's, which lives at ``/``) is a 404."""
    if lang is not None and (lang == DEFAULT or lang not in languages()):
        raise NotFoundError
    return lang or DEFAULT

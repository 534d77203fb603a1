"""The page behind an e-mail's confirmation link: ``/confirm/<token>``; and the static assets.

Opening the link (``GET``) only shows one button; mail scanners open links, so only the
button's form ``POST`` confirms the address. An unknown, used or expired token gets the same
404 page.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.domain.citizens import contacts
from functions.platform.observability import logger, metrics
from web import render
from web.http import html_response


def confirm_page(token: str, language: str, confirm: bool) -> Response[Any]:
    target = contacts.confirm_link(token) if confirm else contacts.link_target(token)
    if target is None:
        return html_response(404, render.not_found(language))
    if not confirm:
        return html_response(200, render.confirm_page(language, target["reference"], done=False))
    metrics.add_metric(name="ContactConfirmed", unit="Count", value=1)
    logger.info("e-mail confirmed", extra={"reference": target["reference"]})
    return html_response(200, render.confirm_page(language, target["reference"], done=True))


def asset_response(name: str, versioned: bool) -> Response[Any] | None:
    """The stylesheet or script (cached for a year when the URL is versioned), else None."""
    found = render.asset(name)
    if found is None:
        return None
    body, kind = found
    cache = "public, max-age=31536000, immutable" if versioned else "public, max-age=300"
    return Response(
        status_code=200,
        content_type=kind,
        body=body.decode("utf-8"),
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )

"""HTTP pieces of the web pages: content negotiation, HTML answers and their headers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

HTML = "text/html; charset=utf-8"

# Everything the pages load comes from the site itself; no inline script or style.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _quality(accept: str, media: str) -> float | None:
    """The q value ``accept`` gives ``media`` when it names it exactly, else None."""
    for part in accept.split(","):
        name, *params = (p.strip() for p in part.split(";"))
        if name.lower() != media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q
    return None


def prefers_html(accept: str | None) -> bool:
    """True when the client names ``text/html`` and ranks it above JSON (a browser).

    ``*/*`` alone (curl, most API clients) is not a preference for HTML.
    """
    if not accept:
        return False
    html = _quality(accept, "text/html")
    if not html:
        return False
    json = _quality(accept, "application/json")
    return json is None or html > json


def html_response(
    status: int, body: str, headers: dict[str, str] | None = None, *, cache: str = "no-store"
) -> Response[Any]:
    """An HTML page with the site's security headers."""
    return Response(
        status_code=status,
        content_type=HTML,
        body=body,
        headers={**SECURITY_HEADERS, "Cache-Control": cache, **(headers or {})},
    )


def redirect(location: str) -> Response[Any]:
    """``303 See Other``: after a form post, the browser GETs ``location``."""
    return Response(
        status_code=303,
        content_type="text/plain; charset=utf-8",
        body="",
        headers={"Location": location, "Cache-Control": "no-store"},
    )

"""After resolution, on the web: the status page's reopen form and the e-mail verdict links.

``POST /status/reopen`` (``reference``, ``token``, ``note``): the token is what the status page
gave after a right one-time code (:func:`functions.domain.requests.reopen.web_token`: bound to
the request's version, 30 minutes), so only the person who holds the request's contact can
reopen it, once. A missing, forged, stale or expired token gets 403; a request the lifecycle
refuses to reopen 409.

``GET /verdict/<token>?score=N``: the e-mail's one-tap answer. The signed token names the
request; the first answer closes the question, so a used, forged or expired link is a 404.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.domain.requests import reopen
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore
from functions.domain.verdicts import questions
from functions.platform.http import json_response
from functions.platform.observability import logger, metrics
from functions.web.lookup import clean_reference
from web import render
from web.http import html_response
from web.texts import text


def _answer(status: int, html: bool, language: str, title: str, lines: list[str]) -> Response[Any]:
    if html:
        return html_response(status, render.message_page(language, title, lines))
    field = "token" if status == 403 else "status"
    body = (
        {"message": " ".join(lines)}
        if status < 400
        else {"errors": [{"field": field, "message": " ".join(lines)}]}
    )
    return json_response(status, body, headers={"Cache-Control": "no-store"})


def reopen_answer(fields: dict[str, Any], language: str, html: bool) -> Response[Any]:
    t = text(language)
    reference = clean_reference(str(fields.get("reference") or "")[:40])
    token = str(fields.get("token") or "")[:80]
    record = RequestStore().get(reference) if is_valid(reference) else None
    if record is None or not reopen.web_token_valid(record, token):
        return _answer(403, html, language, t["reopen_legend"], [t["err_reopen_expired"]])
    try:
        reopen.reopen(record, "web", str(fields.get("note") or ""))
    except reopen.ReopenRefused:
        return _answer(409, html, language, t["reopen_legend"], [t["err_reopen"]])
    metrics.add_metric(name="RequestsReopened", unit="Count", value=1)
    lines = [t["reopened_text"].format(reference=reference)]
    return _answer(200, html, language, t["reopened_title"], lines)


def verdict_page(token: str, score_raw: str, language: str) -> Response[Any]:
    reference = questions.read_token(token[:80])
    score = questions.score_of(score_raw[:2])
    answered = questions.answer(reference, score, "email") if reference and score else None
    if answered is None:
        return html_response(404, render.not_found(language))
    metrics.add_metric(name="VerdictAnswered", unit="Count", value=1)
    logger.info("verdict answered", extra={"reference": answered.reference, "channel": "email"})
    t = text(language)
    lines = [t["verdict_text"].format(reference=answered.reference, score=answered.score)]
    if answered.low:
        lines.append(t["verdict_low"].format(reference=answered.reference))
    return html_response(200, render.message_page(language, t["verdict_title"], lines))

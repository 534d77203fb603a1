"""After a request is resolved, by SMS: ``ÖPPNA``/``REOPEN <reference> <why>`` and the digit
that answers the verdict question.

``REOPEN`` (every language pack's ``words.reopen``: ``ÖPPNA``, ``REOPEN``, ``AVAA``, ``افتح``)
reopens the sender's OWN resolved request (their number's, or their linked app account's and
its other contacts', as ``STATUS``); anyone else's is "not found", as with ``STATUS``. The reply
says why when it cannot (not resolved, window passed, too often).

A bare ``1``–``5`` answers the latest verdict question sent to this number, while it is open;
the dialogue only asks here when no conversation waits for a field (that digit is the field's
answer), and without an open question the digit is read as any other text.
"""

from __future__ import annotations

import re

from functions.domain.citizens import links
from functions.domain.citizens.phone import status_name
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.reference import is_valid
from functions.domain.requests.reopen import ReopenRefused, reopen
from functions.domain.requests.store import RequestStore
from functions.domain.verdicts import questions
from functions.platform.observability import logger, metrics
from functions.platform.texts import known
from functions.sms.texts import text


def reopen_reply(
    citizen: str, rest: str, language: str, citizens: CitizenStore, requests: RequestStore
) -> str:
    """The reply to ``REOPEN <reference> <why>`` in the command word's ``language``."""
    first, _, why = rest.partition(" ")
    wanted = re.sub(r"[\s-]", "", first)
    if not wanted:
        return text("reopen_usage", language)
    if not (wanted.isdigit() and 8 <= len(wanted) <= 12):
        return text("status_invalid", language, reference=wanted[:20])
    record = None
    if is_valid(wanted):
        record = links.owned(wanted, citizen, citizens, requests)
    if record is None:
        return text("status_not_found", language, reference=wanted)
    try:
        reopen(record, "sms", why, requests)
    except ReopenRefused as refused:
        values = dict(refused.values)
        if "status" in values:
            values["status"] = status_name(values["status"], language)
        return text(f"reopen_{refused.reason}", language, **values)
    metrics.add_metric(name="RequestsReopened", unit="Count", value=1)
    return text("reopened", language, reference=wanted)


def verdict_reply(citizen: str, digit: str, citizens: CitizenStore) -> tuple[str, str] | None:
    """The reply to a bare digit answering this number's open question, else None."""
    score = questions.score_of(digit)
    asked = citizens.open_verdict(citizen) if score else None
    if asked is None or score is None:
        return None
    citizens.clear_open_verdict(citizen)
    language = known(str(asked.get("language")))
    answered = questions.answer(str(asked["reference"]), score, "sms")
    if answered is None:  # answered on another channel meanwhile, or expired
        return None
    metrics.add_metric(name="VerdictAnswered", unit="Count", value=1)
    logger.info("verdict answered", extra={"reference": answered.reference, "channel": "sms"})
    if answered.low:
        return text("verdict_low", language, reference=answered.reference), language
    return text("verdict_thanks", language), language

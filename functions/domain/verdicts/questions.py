"""Asking for and keeping the citizen's verdict on a resolved request.

After ``resolved`` the notifier asks ONE question, at most once per request (a conditional
put on the verdicts table: a request resolved again after a reopen is not asked again), only
where it could send the resolution itself (consent, confirmed contact). Every channel answers
the same open question: the first answer is kept and the question is closed for all of them.

- SMS: "Reply 1–5"; a bare digit from that number answers its latest open question.
- E-mail: five one-tap links ``/verdict/<token>?score=N``; the token is the reference, the
  question's end and an HMAC over both with the bus's keyed-hash secret, so it cannot be
  guessed or moved to another request, works without a login, and is single use because the
  question it answers closes with the first answer.
- The app: ``verdict_asked`` on the request, answered with ``POST …/verdict``.

What is kept (:mod:`functions.domain.verdicts.store`) has no citizen id, contact or text:
reference, service, agency, channel, months and the score. A 1 or 2 is answered with how to
reopen the request.
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime, timedelta
from typing import NamedTuple

from functions.domain.citizens.contacts import keyed_hash
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.verdicts.store import VerdictStore
from functions.platform import clock

QUESTION_DAYS = 14  # how long a question stays open (and its e-mail links work)
SCORES = range(1, 6)
LOW = 2  # 1 and 2 are offered the reopening


class Answered(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    reference: str
    score: int

    @property
    def low(self) -> bool:
        return self.score <= LOW


def claim(record: Request, via: str, now: datetime | None = None) -> int:
    """Record that ``record``'s citizen is asked on ``via``; the question's end (epoch
    seconds), or 0 when the request was asked before."""
    now = now or clock.now()
    ends = int((now + timedelta(days=QUESTION_DAYS)).timestamp())
    at = clock.iso(now)
    item = {
        "reference": record["reference"],
        "service_code": record["service_code"],
        "agency": record["agency"],
        "channel": record["channel"],
        "asked_via": via,
        "asked_at": at,
        "month": at[:7],
        "submitted_month": record["submitted_at"][:7],
        "expires_at": ends,
    }
    return ends if VerdictStore().ask(item) else 0


def release(reference: str) -> None:
    VerdictStore().release(reference)


def is_open(reference: str) -> bool:
    """A question about ``reference`` waits for its answer."""
    item = VerdictStore().get(reference)
    if item is None or "score" in item:
        return False
    return int(item["expires_at"]) > int(time.time())


def score_of(raw: object) -> int | None:
    """1–5 from what a citizen sent (``"4"``, ``4``), else None."""
    text = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    return int(text) if text.isdigit() and int(text) in SCORES else None


def answer(reference: str, score: int, via: str) -> Answered | None:
    """Keep the first answer to the open question about ``reference``; None when no question
    is open (never asked, answered, or expired)."""
    if score not in SCORES:
        return None
    kept = VerdictStore().answer(reference, score, via, clock.iso(), int(time.time()))
    return Answered(reference, score) if kept else None


# -- the e-mail links' token ------------------------------------------------------------------
def _signature(reference: str, ends: int) -> str:
    return keyed_hash(f"verdict:{reference}:{ends}")[:32]


def token(reference: str, ends: int) -> str:
    """``<reference>.<end>.<signature>``: what an e-mail's links carry."""
    return f"{reference}.{ends}.{_signature(reference, ends)}"


def read_token(raw: str) -> str | None:
    """The reference a token is for, if its signature is right and it has not expired."""
    reference, _, rest = raw.partition(".")
    ends, _, signature = rest.partition(".")
    if not (is_valid(reference) and ends.isdigit() and len(signature) == 32):
        return None
    if not hmac.compare_digest(signature, _signature(reference, int(ends))):
        return None
    return reference if int(ends) > int(time.time()) else None

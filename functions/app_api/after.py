"""After resolution, in the app: reopening the caller's own request and answering the
verdict question (``verdict_asked`` on the request; the answer route is an extension of the
contract). Someone else's request is a 404, as with ``GET``."""

from __future__ import annotations

from typing import Any

from functions.domain.citizens import links
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.reopen import ReopenRefused, reopen
from functions.domain.requests.store import RequestStore
from functions.domain.requests.views import citizen_view
from functions.domain.verdicts import questions
from functions.platform.errors import ApiError
from functions.platform.http import model_from
from functions.platform.observability import logger, metrics
from schemas.bodies import ReopenBody, VerdictBody

REFUSED = {
    "not_resolved": "the request is not resolved",
    "window_passed": "the reopen window has passed; file a new request",
    "too_often": "the request was reopened too many times; file a new request",
    "once_a_day": "the request was reopened today already; try again tomorrow",
}


def own(citizen: str, reference: str, requests: RequestStore) -> Request:
    record = (
        links.owned(reference, citizen, CitizenStore(), requests) if is_valid(reference) else None
    )
    if record is None:
        raise ApiError.one(404, "reference", "no such request")
    return record


def view(record: Request) -> dict[str, Any]:
    """The citizen's view, with ``verdict_asked`` when a question waits for them."""
    shown = citizen_view(record)
    if record["status"] == "resolved" and questions.is_open(record["reference"]):
        shown["verdict_asked"] = True
    return shown


def reopen_request(citizen: str, reference: str, data: Any) -> dict[str, Any]:
    body: ReopenBody = model_from(ReopenBody, data)
    requests = RequestStore()
    record = own(citizen, reference, requests)
    try:
        changed = reopen(record, "app", body.note, requests)
    except ReopenRefused as refused:
        raise ApiError.one(409, "status", REFUSED[refused.reason]) from refused
    metrics.add_metric(name="RequestsReopened", unit="Count", value=1)
    assert changed.record is not None
    return citizen_view(changed.record)


def answer_verdict(citizen: str, reference: str, data: Any) -> dict[str, Any]:
    body: VerdictBody = model_from(VerdictBody, data)
    own(citizen, reference, RequestStore())
    answered = questions.answer(reference, body.score, "app")
    if answered is None:
        raise ApiError.one(409, "score", "no question about this request waits for an answer")
    metrics.add_metric(name="VerdictAnswered", unit="Count", value=1)
    logger.info("verdict answered", extra={"reference": reference, "channel": "app"})
    return {"reference": reference, "score": answered.score, "reopen_offered": answered.low}

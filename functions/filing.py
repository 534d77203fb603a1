"""Filing over HTTP, as the JSON channels (app, web e-service) answer it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from functions.domain.requests.duplicates import public_answer
from functions.domain.requests.intake import InvalidRequest, file_request
from functions.domain.requests.views import citizen_view
from functions.platform.errors import ApiError
from functions.platform.http import json_response
from functions.platform.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

    from schemas.channels import Channel
    from schemas.request import NewRequest


def file_and_answer(
    request: NewRequest,
    *,
    channel: Channel,
    citizen: str | None = None,
    message_id: str | None = None,
    assurance: str | None = None,
    marks: dict[str, Any] | None = None,
    also: Sequence[dict[str, Any]] = (),
) -> Response[Any]:
    """File once; 201 with the request, 200 with the same one for a retried message id, and
    200 ``{"duplicate_of": …}`` (no personal data of its filer) when it repeats an open one."""
    try:
        filed = file_request(
            request,
            channel=channel,
            citizen=citizen,
            message_id=message_id,
            assurance=assurance,
            marks=marks,
            also=also,
        )
    except InvalidRequest as exc:
        raise ApiError(exc.status, exc.errors) from exc
    if filed.duplicate:
        if filed.counted:
            metrics.add_metric(name="RequestsSupported", unit="Count", value=1)
        logger.info(
            "request repeats an open one",
            extra={"reference": filed.record["reference"], "counted": filed.counted},
        )
        return json_response(200, public_answer(filed.record))
    if filed.created:
        metrics.add_metric(name="RequestsFiled", unit="Count", value=1)
    logger.info(
        "request filed",
        extra={"reference": filed.record["reference"], "new_request": filed.created},
    )
    return json_response(201 if filed.created else 200, citizen_view(filed.record))

"""Errors a citizen or agency can fix, and how they look on the wire."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A 4xx answer: ``{"errors": [{"field": …, "message": …}]}``."""

    def __init__(self, status: int, errors: list[dict[str, str]]) -> None:
        super().__init__(errors[0]["message"] if errors else str(status))
        self.status = status
        self.errors = errors

    @classmethod
    def one(cls, status: int, field: str, message: str) -> ApiError:
        return cls(status, [{"field": field, "message": message}])

    def body(self) -> dict[str, Any]:
        return {"errors": self.errors}


# DynamoDB's answers when it sheds load: an error of a call, or a cancelled transaction's reason.
THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    }
)
RETRY_AFTER_SECONDS = 2  # what a 503 for a throttled table asks the client to wait


class Throttled(Exception):
    """DynamoDB kept throttling after the SDK's retries: the client should retry (a 503)."""


def is_throttle(exc: BaseException) -> bool:
    """Whether ``exc`` is DynamoDB shedding load past the retries (a botocore ``ClientError``
    with a throttling code, or :class:`Throttled`), not a fault of ours."""
    seen: BaseException | None = exc
    for _ in range(5):  # wrapped: Powertools idempotency raises its own error from botocore's
        if seen is None:
            return False
        if isinstance(seen, Throttled):
            return True
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in THROTTLE_CODES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def pydantic_errors(exc: Any, prefix: str = "") -> list[dict[str, str]]:
    """Field errors from a pydantic ``ValidationError``, with dotted field names."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
        field = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or "body")
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "this field is required"
        out.append({"field": field, "message": message})
    return out

"""Building the thin CloudEvents that announce what happened to a request."""

from __future__ import annotations

import uuid
from typing import Any

from functions.domain.open_data.privacy import REDACTED, known_personal_values, scrub
from functions.domain.requests.records import Request
from schemas.event_types import EVENT_SOURCE


def request_event(event_type: str, record: Request, time: str, **extra: Any) -> dict[str, Any]:
    """A CloudEvent (structured mode, as a dict) for ``record``, carrying no personal data.

    ``record`` is the stored request; its ``attributes`` hold only what the catalog does not
    mark personal (personal attributes live apart, under ``personal``), and the citizen is the
    pseudonymous id. Contact details never leave the store this way. Free text (a description,
    an agency's note) is scrubbed of phone numbers, e-mail addresses, identity numbers, codes
    and every personal value filed with the request: people write them anywhere.
    """

    known = known_personal_values(record)

    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        scrubbed = scrub(value, known)
        return scrubbed if REDACTED in scrubbed else value

    data: dict[str, Any] = {
        "reference": record["reference"],
        "service_code": record["service_code"],
        "agency": record["agency"],
        "channel": record["channel"],
        "status": record["status"],
        "attributes": {k: clean(v) for k, v in (record.get("attributes") or {}).items()},
        "submitted_at": record["submitted_at"],
        "expected_at": record.get("expected_at"),
        "citizen": record["citizen"],
    }
    data.update({k: clean(v) for k, v in extra.items() if v is not None})
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": EVENT_SOURCE,
        "type": event_type,
        "subject": record["reference"],
        "time": time,
        "datacontenttype": "application/json",
        # CloudEvents data-classification extension (see schemas.events.RequestEvent).
        "dataclassification": "internal",
        "dataregulation": "GDPR",
        "datacategory": "non-sensitive",
        "data": data,
    }

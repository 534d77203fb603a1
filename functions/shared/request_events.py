"""Building the thin CloudEvents that announce what happened to a request."""

from __future__ import annotations

import uuid
from typing import Any

from schemas.event_types import EVENT_SOURCE


def request_event(
    event_type: str, record: dict[str, Any], time: str, **extra: Any
) -> dict[str, Any]:
    """A CloudEvent (structured mode, as a dict) for ``record``, carrying no personal data.

    ``record`` is the stored request; its ``attributes`` hold only what the catalog does not
    mark personal (personal attributes live apart, under ``personal``), and the citizen is the
    pseudonymous id. Contact details never leave the store this way.
    """
    data: dict[str, Any] = {
        "reference": record["reference"],
        "service_code": record["service_code"],
        "agency": record["agency"],
        "channel": record["channel"],
        "status": record["status"],
        "attributes": dict(record.get("attributes", {})),
        "submitted_at": record["submitted_at"],
        "expected_at": record.get("expected_at"),
        "citizen": record["citizen"],
    }
    data.update({k: v for k, v in extra.items() if v is not None})
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

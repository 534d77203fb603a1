"""``GET /_local/outbox``: what the bus would have sent, newest last (local bus only).

SMS come from the Twilio SDK's recording HTTP client, e-mail from moto's SES and push from
moto's SNS; each is matched to its notification record for the request reference.
"""

from __future__ import annotations

from typing import Any

from citizenbus.local.runtime import ACCOUNT, REGION, LocalBus
from functions.domain.citizens.store import CitizenStore


def collect(bus: LocalBus) -> list[dict[str, Any]]:
    # moto's SES and SNS backends only when the outbox is read
    from moto.ses.models import ses_backends  # noqa: PLC0415 - see above
    from moto.sns.models import sns_backends  # noqa: PLC0415 - see above

    store = CitizenStore()
    items: list[dict[str, Any]] = []
    for sms in list(bus.twilio.sent):
        note = store.message_status(sms["sid"]) or {}
        items.append(
            {
                "channel": "sms",
                "to": sms["to"],
                "body": sms["body"],
                "reference": note.get("reference"),
                "sent_at": sms["sent_at"],
            }
        )
    for mail in ses_backends[ACCOUNT][REGION].sent_messages:
        note = store.message_status(mail.id) or {}
        to = (
            mail.destinations.get("ToAddresses", [])
            if isinstance(mail.destinations, dict)
            else mail.destinations
        )
        items.append(
            {
                "channel": "email",
                "to": ", ".join(to),
                "body": getattr(mail, "body", ""),
                "subject": getattr(mail, "subject", None),
                "reference": note.get("reference"),
                "sent_at": note.get("sent_at"),
            }
        )
    for endpoint in sns_backends[ACCOUNT][REGION].platform_endpoints.values():
        for message_id, message in endpoint.messages.items():
            note = store.message_status(message_id) or {}
            items.append(
                {
                    "channel": "push",
                    "to": endpoint.arn,
                    "body": message,
                    "reference": note.get("reference"),
                    "sent_at": note.get("sent_at"),
                }
            )
    return sorted(items, key=lambda i: i.get("sent_at") or "")

"""Agency webhooks: a bus with fast delivery retries, and a request filed to be delivered."""

from __future__ import annotations

from citizenbus.local.runtime import LocalBus

# LocalBus(env=FAST): two delivery attempts with no waiting between them.
FAST = {
    "WEBHOOK_ATTEMPTS": "2",
    "WEBHOOK_ATTEMPT_DELAY_SECONDS": "0",
    "WEBHOOK_BACKOFF_SECONDS": "0",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
}


def file(bus: LocalBus, service: str, attributes: dict[str, str]) -> str:
    """File a request over the e-service with a phone number and an e-mail; its reference."""
    response = bus.request(
        "POST",
        f"/eservice/v1/forms/{service}",
        json_body={**attributes, "phone": "0701234567", "email": "anna@example.se"},
    )
    assert response.status == 201, response.text
    reference: str = response.json()["reference"]
    return reference

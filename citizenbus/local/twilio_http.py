"""HTTP clients for Twilio's SDK that keep messages on this machine.

``RecordingHttpClient`` answers like Twilio's Messages API and remembers every request: the
local bus uses it so nothing leaves the machine and ``GET /_local/outbox`` can show what
would have been sent. ``RedirectingHttpClient`` sends the SDK's real requests to another base
URL (a Prism mock of Twilio's OpenAPI description in the contract tests).
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from functions.platform.clock import iso_ms

TWILIO_API = "https://api.twilio.com"


class RecordingHttpClient(HttpClient):  # type: ignore[misc]
    """Accepts ``POST …/Messages.json`` like Twilio does and records it; nothing is sent."""

    def __init__(self) -> None:
        super().__init__(logger=None, is_async=False)
        self.sent: list[dict[str, Any]] = []  # every message accepted, oldest first
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        path = urlsplit(uri).path
        if method.upper() != "POST" or not path.endswith("/Messages.json"):
            return Response(
                404, json.dumps({"code": 20404, "message": "not recorded", "status": 404})
            )
        form = {k: str(v) for k, v in (data or {}).items()}
        if not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
            error = {
                "code": 21604,
                "message": "A 'To' phone number and a 'Body' are required.",
                "status": 400,
            }
            return Response(400, json.dumps(error))
        account = path.split("/Accounts/")[1].split("/")[0]
        now = datetime.now(UTC)
        sid = "SM" + secrets.token_hex(16)
        message = {
            "sid": sid,
            "account_sid": account,
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body", ""),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": format_datetime(now),
            "date_updated": format_datetime(now),
            "date_sent": None,
            "price": None,
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }
        with self._lock:
            self.sent.append(
                {
                    **message,
                    "status_callback": form.get("StatusCallback"),
                    "sent_at": iso_ms(now),
                }
            )
        return Response(201, json.dumps(message))


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's own HTTP client, aimed at another base URL instead of api.twilio.com."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)

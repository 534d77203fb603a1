"""The channels a request comes in by. No pydantic here: the open-data export and the bulk
files name the channels without importing the request models (``schemas.request``, eleven
model classes created at import)."""

from __future__ import annotations

from typing import Literal

Channel = Literal["sms", "voice", "app", "eservice", "open311"]
CHANNELS: tuple[Channel, ...] = ("sms", "voice", "app", "eservice", "open311")

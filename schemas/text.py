"""Which characters no text the bus keeps may hold (no pydantic here: light to import)."""

from __future__ import annotations

import re

# Characters no text the bus keeps may hold: the C0 and C1 controls but tab and newline (they
# break XML 1.0, terminals and CSV readers), the non-characters U+FFFE/U+FFFF and lone
# surrogates (not text at all). Refused at intake, stripped on output (old data may hold them).
# A carriage return is a line end, not refused: intake stores it as a newline (``Clean``).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
CONTROL_MESSAGE = "control characters are not allowed (tab and newline are)"
MAX_TEXT = 1000  # the longest free text a citizen or agency may file (schemas.request uses it)


def has_control(text: str) -> bool:
    """Whether ``text`` holds a character the bus refuses (see ``CONTROL``)."""
    return CONTROL.search(text) is not None


def strip_control(text: str) -> str:
    """``text`` without the refused characters; a carriage return becomes a newline."""
    return CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))

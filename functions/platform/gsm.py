"""SMS text that stays in the GSM-7 alphabet, and how many segments it costs.

One character outside GSM 03.38 turns a whole message into UCS-2, which cuts a segment from
160 to 70 characters. Swedish å ä ö Å Ä Ö and é ü are GSM-7, so replies keep them; curly
quotes, dashes and emoji are replaced or dropped before a reply leaves.
"""

from __future__ import annotations

import math
import unicodedata

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")  # each costs two septets (escape + char)

_REPLACEMENTS = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "´": "'",
    "`": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "–": "-",
    "—": "-",
    "‐": "-",
    "−": "-",
    "…": "...",
    "\u00a0": " ",
    "\u2009": " ",
    "\t": " ",
    "•": "-",
    "×": "x",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Þ": "Th",
    "þ": "th",
    "ð": "d",
}


def is_gsm7(text: str) -> bool:
    """True when ``text`` can be sent without switching the message to UCS-2."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes (GSM-7: 160/153 septets, UCS-2: 70/67 units)."""
    if is_gsm7(text):
        septets = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def strip_symbols(text: str) -> str:
    """``text`` without emoji, pictographs and invisible format characters (NFC)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category in ("So", "Cs", "Co", "Cn", "Cf"):
            continue
        if "\ufe00" <= ch <= "\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff":
            continue  # variation selectors and skin tones left over from emoji
        out.append(ch)
    return "".join(out)


def to_gsm7(text: str) -> str:
    """``text`` rewritten into GSM-7: look-alikes replaced, accents dropped, emoji removed."""
    out = []
    for ch in strip_symbols(text):
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            out.append(ch)
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            out.append(base if base and is_gsm7(base) else "?")
    return "".join(out)

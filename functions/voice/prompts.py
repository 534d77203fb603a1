"""What the IVR says, in every language: the ``phone`` texts of the language packs, and each
pack's voice (Twilio ``<Say language=… voice=…>``, ``<Gather language=…>`` for speech)."""

from __future__ import annotations

from typing import Any

from functions.platform.texts import languages, meta, pack, say


def prompt(key: str, language: str, /, **values: str) -> str:
    return say("phone", key, language, **values)


def say_attributes(language: str) -> dict[str, str]:
    """``language`` and ``voice`` for ``<Say>`` in ``language`` (an Amazon Polly voice)."""
    voice: dict[str, Any] = pack(language).get("voice", {})
    out = {"language": str(voice.get("say_language") or meta(language)["code"])}
    if voice.get("say_voice"):
        out["voice"] = str(voice["say_voice"])
    return out


def gather_language(language: str) -> str:
    """The speech recognition language of ``<Gather input="speech">`` in ``language``."""
    voice: dict[str, Any] = pack(language).get("voice", {})
    return str(voice.get("gather_language") or say_attributes(language)["language"])


def menu_languages() -> tuple[str, ...]:
    """The languages of the first menu, digit 1 first (at most nine)."""
    return languages()[:9]


def digit_by_digit(digits: str) -> str:
    """``1234`` → ``1, 2, 3, 4``: text-to-speech reads each digit with a short pause."""
    return ", ".join(digits)

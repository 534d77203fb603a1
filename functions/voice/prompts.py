"""What the IVR says, in Swedish and English (Twilio ``<Say>`` text)."""

from __future__ import annotations

SPEECH_LANGUAGE = {"sv": "sv-SE", "en": "en-GB"}

PROMPTS: dict[str, dict[str, str]] = {
    "welcome": {
        "sv": "Välkommen till {jurisdiction}. För svenska, tryck 1.",
        "en": "Welcome to {jurisdiction}. For English, press 2.",
    },
    "menu_item": {"sv": "{service}: tryck {digit}.", "en": "{service}: press {digit}."},
    "menu_status": {
        "sv": "För att höra hur det går med ett ärende, tryck 9.",
        "en": "To hear the status of a request, press 9.",
    },
    "no_choice": {"sv": "Det valet finns inte.", "en": "That is not one of the choices."},
    "no_input": {"sv": "Jag uppfattade inget svar.", "en": "I did not hear an answer."},
    "ask_digits": {
        "sv": "Knappa in {name}. {description} Avsluta med fyrkant.",
        "en": "Please key in your {name}. {description} Then press the hash key.",
    },
    "ask_speech": {
        "sv": "Säg {name}. {description}",
        "en": "Please say the {name}. {description}",
    },
    "ask_optional": {
        "sv": "Du kan också trycka fyrkant för att hoppa över.",
        "en": "Or press the hash key to skip.",
    },
    "confirm_intro": {"sv": "Du vill anmäla: {service}.", "en": "You are reporting: {service}."},
    "confirm_item": {"sv": "{name}: {value}.", "en": "{name}: {value}."},
    "confirm_choice": {
        "sv": "Tryck 1 för att skicka, eller 2 för att börja om.",
        "en": "Press 1 to send it, or 2 to start again.",
    },
    "filed": {
        "sv": "Tack. Ditt ärende är mottaget. Ditt ärendenummer är:",
        "en": "Thank you. Your request is received. Your reference is:",
    },
    "repeat": {"sv": "Jag upprepar:", "en": "Again:"},
    "notify": {
        "sv": "Du får ett sms när något händer i ärendet.",
        "en": "You will get a text message when something happens.",
    },
    "after": {
        "sv": "Tryck 0 för huvudmenyn, eller lägg på.",
        "en": "Press 0 for the main menu, or hang up.",
    },
    "status_prompt": {
        "sv": "Knappa in ditt ärendenummer och avsluta med fyrkant.",
        "en": "Please key in your reference, then press the hash key.",
    },
    "status": {"sv": "Ärende {reference}: {status}.", "en": "Request {reference}: {status}."},
    "status_expected": {"sv": "Beräknat klart {date}.", "en": "Expected by {date}."},
    "status_not_found": {
        "sv": "Vi hittar inget ärende med det numret från ditt telefonnummer.",
        "en": "We found no request with that reference from your phone number.",
    },
    "expired": {
        "sv": "Vi börjar om från början.",
        "en": "Let us start again from the beginning.",
    },
    "failed": {
        "sv": "Tyvärr kunde vi inte uppfatta dina svar. Ring gärna igen, eller skicka ett sms "
        "med ordet HJÄLP till det här numret. Hej då.",
        "en": "Sorry, we could not understand your answers. Please call again, or text HELP "
        "to this number. Goodbye.",
    },
    "goodbye": {"sv": "Tack för att du ringde. Hej då.", "en": "Thank you for calling. Goodbye."},
    "no_caller": {
        "sv": "Vi kan inte se ditt telefonnummer. Ring igen utan dolt nummer. Hej då.",
        "en": "We cannot see your phone number. Please call again without hiding it. Goodbye.",
    },
}


def prompt(key: str, language: str, **values: str) -> str:
    return PROMPTS[key]["en" if language == "en" else "sv"].format(**values)


def digit_by_digit(digits: str) -> str:
    """``1234`` → ``1, 2, 3, 4``: text-to-speech reads each digit with a short pause."""
    return ", ".join(digits)

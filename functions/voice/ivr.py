"""The phone menu (IVR): one Twilio Voice webhook in, one TwiML document out.

Every ``<Gather>`` posts to ``/channels/voice`` with the next step in the query string
(``step``, ``lang``, ``service``, ``attr`` and ``n``, the number of failed tries so far).
Twilio signs the whole URL, query included, so the step cannot be forged. What the caller
has entered (attributes, possibly personal) never goes into a URL: it is kept in the citizens
table under the call (``conversation#call#<CallSid>``) for an hour.

Flow: language (a digit per language pack: 1 svenska, 2 English, 3 suomi, 4 Arabic) → main
menu (1..n: the catalog's services in catalog order, 9: status) → one question per attribute
(DTMF for ``digits`` attributes, speech for text) → confirmation (1 send, 2 start again) →
the reference read back digit by digit, twice.
Silence or a wrong key re-prompts; after three failures the caller hears a polite goodbye.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from functions.domain.citizens import links
from functions.domain.citizens.language import remember
from functions.domain.citizens.phone import Caller, status_name
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.intake import InvalidRequest, file_request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import RequestStore
from functions.platform.gsm import strip_symbols
from functions.platform.observability import logger, metrics
from functions.platform.texts import known
from functions.voice.prompts import (
    digit_by_digit,
    gather_language,
    menu_languages,
    prompt,
    say_attributes,
)
from schemas.catalog import Attribute, Catalog, Service
from schemas.request import Contact, NewRequest
from schemas.text import has_control

if TYPE_CHECKING:
    from twilio.twiml.voice_response import VoiceResponse

MAX_TRIES = 3
STATUS_DIGIT = "9"
CALL_TTL_SECONDS = 3600


class Ivr:
    """One step of a call."""

    def __init__(
        self,
        url: str,
        catalog: Catalog,
        caller: Caller,
        call_sid: str,
        params: dict[str, str],
        form: dict[str, str],
        citizens: CitizenStore | None = None,
        requests: RequestStore | None = None,
    ) -> None:
        from twilio.twiml.voice_response import VoiceResponse  # noqa: PLC0415 - twilio off the cold start

        self.url = url
        self.catalog = catalog
        self.caller = caller
        self.call_sid = call_sid
        self.params = params
        self.form = form
        self.citizens = citizens or CitizenStore()
        self.requests = requests or RequestStore()
        self.response = VoiceResponse()
        self.lang = known(params.get("lang"))
        tries = params.get("n", "0")
        self.tries = int(tries) if tries.isdigit() and len(tries) < 3 else 0
        self.services = self.catalog.services[:8]  # 9 is the status look-up

    # -- building blocks ----------------------------------------------------------------------
    def action(self, step: str, **params: Any) -> str:
        query = {"step": step, "lang": self.lang} | {
            k: str(v) for k, v in params.items() if v is not None
        }
        return f"{self.url}?{urlencode(query)}"

    def say(self, text: str, target: Any = None, language: str | None = None) -> None:
        (target or self.response).say(text, **say_attributes(language or self.lang))

    @property
    def state_key(self) -> str:
        return f"call#{self.call_sid}"

    def load_state(self) -> dict[str, Any] | None:
        return self.citizens.get_conversation(self.caller.citizen, self.state_key)

    def save_state(self, state: dict[str, Any]) -> None:
        self.citizens.save_conversation(
            self.caller.citizen, state, self.state_key, ttl_seconds=CALL_TTL_SECONDS
        )

    def answer(self) -> str:
        return str(self.form.get("Digits") or "").strip()

    # -- dispatch -------------------------------------------------------------------------------
    def respond(self) -> VoiceResponse:
        step = self.params.get("step", "welcome")
        handler = {
            "welcome": lambda: self.welcome(self.tries),
            "language": self.on_language,
            "menu": lambda: self.menu(self.tries),
            "choose": self.on_choose,
            "ask": self.on_ask,
            "answer": self.on_answer,
            "confirm": lambda: self.confirm(self.tries),
            "confirmed": self.on_confirmed,
            "status": lambda: self.status_prompt(self.tries),
            "status_result": self.on_status,
            "after": self.on_after,
        }.get(step, lambda: self.welcome(0))
        handler()
        return self.response

    def goodbye(self, failed: bool) -> None:
        self.say(prompt("failed" if failed else "goodbye", self.lang))
        self.response.hangup()
        if failed:
            metrics.add_metric(name="CallsGivenUp", unit="Count", value=1)

    # -- language and menu ---------------------------------------------------------------------
    def welcome(self, tries: int) -> None:
        if tries >= MAX_TRIES:
            for language in menu_languages():
                self.say(prompt("failed", language), language=language)
            self.response.hangup()
            return
        gather = self.response.gather(
            input="dtmf", num_digits=1, timeout=5, action=self.action("language", n=tries)
        )
        for digit, language in enumerate(menu_languages(), start=1):
            name = self.catalog.jurisdiction.name(language)
            welcome = prompt("welcome", language, jurisdiction=name, digit=str(digit))
            self.say(welcome, gather, language)
        self.response.redirect(self.action("welcome", n=tries + 1))

    def on_language(self) -> None:
        choice = self.answer()
        offered = menu_languages()
        if choice.isdigit() and 1 <= int(choice) <= len(offered):
            self.lang = offered[int(choice) - 1]
            remember(self.caller.citizen, self.lang, "voice:menu", self.citizens)
            self.menu(0)
        else:
            self.welcome(self.tries + 1)

    def menu(self, tries: int, notice: str | None = None) -> None:
        if tries >= MAX_TRIES:
            self.goodbye(failed=True)
            return
        if notice:
            self.say(notice)
        gather = self.response.gather(
            input="dtmf", num_digits=1, timeout=6, action=self.action("choose", n=tries)
        )
        for digit, service in enumerate(self.services, start=1):
            self.say(
                prompt("menu_item", self.lang, service=service.name(self.lang), digit=str(digit)),
                gather,
            )
        self.say(prompt("menu_status", self.lang), gather)
        self.response.redirect(self.action("menu", n=tries + 1))

    def on_choose(self) -> None:
        choice = self.answer()
        if choice == STATUS_DIGIT:
            self.status_prompt(0)
            return
        if choice.isdigit() and 1 <= int(choice) <= len(self.services):
            service = self.services[int(choice) - 1]
            previous = self.load_state() or {}
            self.save_state(
                {
                    "service": service.service_code,
                    "attributes": {},
                    "seq": int(previous.get("seq", 0)) + 1,
                }
            )
            self.ask(service, service.attributes[0], 0)
            return
        self.menu(self.tries + 1, prompt("no_choice", self.lang))

    # -- attributes ------------------------------------------------------------------------------
    def ask(self, service: Service, attr: Attribute, tries: int, notice: str | None = None) -> None:
        if tries >= MAX_TRIES:
            self.goodbye(failed=True)
            return
        if notice:
            self.say(notice)
        action = self.action("answer", service=service.service_code, attr=attr.code, n=tries)
        name = attr.name(self.lang).lower()
        description = attr.description(self.lang)
        if attr.input == "digits":
            fixed = attr.max_length if attr.min_length == attr.max_length else None
            gather = self.response.gather(
                input="dtmf",
                finish_on_key="#",
                num_digits=fixed,
                timeout=10,
                action=action,
            )
            self.say(prompt("ask_digits", self.lang, name=name, description=description), gather)
        else:
            gather = self.response.gather(
                input="speech" if attr.required else "speech dtmf",
                language=gather_language(self.lang),
                speech_timeout="auto",
                timeout=6,
                finish_on_key="#",
                action_on_empty_result=None if attr.required else True,
                action=action,
            )
            self.say(prompt("ask_speech", self.lang, name=name, description=description), gather)
            if not attr.required:
                self.say(prompt("ask_optional", self.lang), gather)
        self.response.redirect(
            self.action("ask", service=service.service_code, attr=attr.code, n=tries + 1)
        )

    def _service_attr(self) -> tuple[Service, Attribute] | None:
        service = self.catalog.service(self.params.get("service", ""))
        attr = service.attribute(self.params.get("attr", "")) if service else None
        return (service, attr) if service and attr else None

    def on_ask(self) -> None:
        found = self._service_attr()
        if found is None or self.load_state() is None:
            self.menu(0, prompt("expired", self.lang))
            return
        service, attr = found
        self.ask(service, attr, self.tries, prompt("no_input", self.lang))

    def on_answer(self) -> None:
        found = self._service_attr()
        state = self.load_state()
        if found is None or state is None or state.get("service") != found[0].service_code:
            self.menu(0, prompt("expired", self.lang))
            return
        service, attr = found
        if attr.input == "digits":
            value = self.answer()
        else:
            speech = strip_symbols(str(self.form.get("SpeechResult") or ""))
            value = " ".join(speech.split()).strip(" .,!?")
        if not value and attr.required:
            self.ask(service, attr, self.tries + 1, prompt("no_input", self.lang))
            return
        if value and (has_control(value) or attr.problem(value)):
            self.ask(service, attr, self.tries + 1, attr.error(self.lang))
            return
        attributes = dict(state.get("attributes") or {})
        if value:
            attributes[attr.code] = value
        else:
            attributes.pop(attr.code, None)
        self.save_state({**state, "attributes": attributes})
        codes = [a.code for a in service.attributes]
        following = service.attributes[codes.index(attr.code) + 1 :]
        if following:
            self.ask(service, following[0], 0)
        else:
            self.confirm(0, service, attributes)

    # -- confirmation and filing -----------------------------------------------------------------
    def confirm(
        self,
        tries: int,
        service: Service | None = None,
        attributes: dict[str, str] | None = None,
    ) -> None:
        if service is None or attributes is None:
            state = self.load_state()
            service = self.catalog.service(str((state or {}).get("service", "")))
            if state is None or service is None:
                self.menu(0, prompt("expired", self.lang))
                return
            attributes = dict(state.get("attributes") or {})
        if tries >= MAX_TRIES:
            self.goodbye(failed=True)
            return
        gather = self.response.gather(
            input="dtmf",
            num_digits=1,
            timeout=6,
            action=self.action("confirmed", service=service.service_code, n=tries),
        )
        self.say(prompt("confirm_intro", self.lang, service=service.name(self.lang)), gather)
        for attr in service.attributes:
            value = attributes.get(attr.code)
            if value:
                spoken = digit_by_digit(value) if attr.input == "digits" else value
                self.say(
                    prompt("confirm_item", self.lang, name=attr.name(self.lang), value=spoken),
                    gather,
                )
        self.say(prompt("confirm_choice", self.lang), gather)
        self.response.redirect(self.action("confirm", service=service.service_code, n=tries + 1))

    def on_confirmed(self) -> None:
        choice = self.answer()
        if choice == "2":
            self.menu(0)
            return
        if choice != "1":
            self.confirm(self.tries + 1)
            return
        state = self.load_state()
        service = self.catalog.service(str((state or {}).get("service", "")))
        if state is None or service is None:
            self.menu(0, prompt("expired", self.lang))
            return
        request = NewRequest(
            service_code=service.service_code,
            attributes=dict(state.get("attributes") or {}),
            contact=Contact(phone=self.caller.phone),
            notify_by="sms",
            language=self.lang,
            consent=self.citizens.consent(self.caller.citizen, "sms") is not False,
        )
        try:
            filed = file_request(
                request,
                channel="voice",
                citizen=self.caller.citizen,
                message_id=f"{self.call_sid}#{state.get('seq', 1)}",
                store=self.requests,
                catalog=self.catalog,
            )
        except InvalidRequest as exc:
            self.menu(0, exc.errors[0]["message"])
            return
        reference = filed.record["reference"]
        if filed.created:
            metrics.add_metric(name="RequestsFiled", unit="Count", value=1)
        logger.info(
            "call filed a request",
            extra={
                "reference": reference,
                "citizen": self.caller.citizen,
                "new_request": filed.created,
            },
        )
        self.say(prompt("filed", self.lang))
        self.say(digit_by_digit(reference))
        self.say(prompt("repeat", self.lang))
        self.say(digit_by_digit(reference))
        self.say(prompt("notify", self.lang))
        self.after()

    def after(self) -> None:
        gather = self.response.gather(
            input="dtmf", num_digits=1, timeout=5, action=self.action("after")
        )
        self.say(prompt("after", self.lang), gather)
        self.goodbye(failed=False)

    def on_after(self) -> None:
        if self.answer() == "0":
            self.menu(0)
        else:
            self.goodbye(failed=False)

    # -- status --------------------------------------------------------------------------------
    def status_prompt(self, tries: int, notice: str | None = None) -> None:
        if tries >= MAX_TRIES:
            self.goodbye(failed=True)
            return
        if notice:
            self.say(notice)
        gather = self.response.gather(
            input="dtmf",
            finish_on_key="#",
            timeout=10,
            action=self.action("status_result", n=tries),
        )
        self.say(prompt("status_prompt", self.lang), gather)
        self.response.redirect(self.action("status", n=tries + 1))

    def on_status(self) -> None:
        reference = re.sub(r"\D", "", self.answer())
        record = None
        if reference and is_valid(reference):  # the caller's own, or their linked account's
            record = links.owned(reference, self.caller.citizen, self.citizens, self.requests)
        if record is None:
            key = "status_not_found" if reference else "no_input"
            self.status_prompt(self.tries + 1, prompt(key, self.lang))
            return
        self.say(
            prompt(
                "status",
                self.lang,
                reference=digit_by_digit(reference),
                status=status_name(record["status"], self.lang),
            )
        )
        if record["status"] not in ("resolved", "rejected") and record.get("expected_at"):
            self.say(prompt("status_expected", self.lang, date=str(record["expected_at"])[:10]))
        self.after()

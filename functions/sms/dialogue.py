"""The SMS dialogue: one incoming text in, one reply out.

Grammar (first word, case-insensitive; the catalog's keywords decide the services):

* ``HELP`` / ``INFO`` (English), ``HJÄLP`` (Swedish), ``APUA`` (Finnish), ``مساعدة`` (Arabic):
  the services and their keywords (every language pack's ``words``; the catalog's keywords
  are per language too: ``GATA``/``STREET``/``KATU``/``شارع``).
* Text without a keyword that names a service (``sopor har inte hämtats på Sopvägen 3``,
  ``pothole on Main Road 5``; typos too: ``understand.py``): ONE question back, in the text's
  language, naming the service and the address (``Missad sophämtning, Sopvägen 3? Svara JA
  så skickar vi in det.``), kept as the number's conversation (15 minutes). A yes in any
  language (``JA``/``YES``/``KYLLÄ``/``نعم``) files it (or asks for what is missing, such as
  an address); a no (``NEJ``/``NO``/``EI``/``لا``) drops it; anything else is read afresh.
  Nothing is filed without that yes. Empty or unknown text: the services and their keywords,
  in the text's language when it tells (English, with a pointer to ``HJÄLP``, when not).
* ``<KEYWORD> <text>``: files a request. The text fills the service's attributes in catalog
  order: a ``digits`` attribute takes the next word (dashes dropped; the whole rest when it is
  the last attribute), a ``location`` attribute takes the text up to and including its first
  house number (``Storgatan 12B``, ``Storgatan 1-3``) and leaves the rest for the next
  attribute, the last attribute takes whatever is left. ``GATA Storgatan 1 deep hole`` gives
  address ``Storgatan 1`` and description ``deep hole``; without a number the whole text is
  the address. Left-over text with nowhere to go becomes the request's description.
* A missing or invalid required field: the reply says what is wrong and asks for it; the
  conversation is kept per number for 15 minutes and the next text answers the question
  (unless it starts with a keyword or command, which starts over).
* ``STATUS <reference>``: the sender's own request (``STATUS`` alone: their latest three; a
  bare valid reference, outside a conversation, is read as ``STATUS <reference>``). Once the
  number is linked to an app account, "own" includes what the app filed.
* ``ÖPPNA``/``REOPEN <reference> <why>``: reopens the sender's own resolved request; a bare
  digit ``1``–``5`` answers the verdict question sent to the number (``after.py``).
* ``STOP`` (and Twilio's other opt-out words) / ``START``: the consent ledger.
* ``JA`` / ``YES`` (outside a conversation): confirms the number for the request a
  confirmation SMS named. A pending free-text question comes first: the yes answers the
  question the bus asked last (the number is confirmed by the text anyway, see below), and a
  later ``JA`` confirms the number. Any text proves the number it came from (it is confirmed
  for the requests that web forms, Open311 or app preferences filed with it); ``STOP`` declines.

Replies are in the language of the keyword (every keyword and command word belongs to one
language pack) and are rewritten into GSM-7 so that one odd character never triples the
cost, except in a UCS-2 language (Arabic), whose replies keep their letters. Without a
keyword, the language the citizen last used with the bus (remembered per citizen,
:mod:`functions.domain.citizens.language`; a ``STATUS`` after ``GATA …`` answers in
Swedish), else the language of the text, else the default.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from functions.domain.citizens import links
from functions.domain.citizens.contacts import contact_id
from functions.domain.citizens.language import choose, last_used
from functions.domain.citizens.phone import Caller, service_name, status_name
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.intake import Filed, InvalidRequest, file_request
from functions.domain.requests.records import Request
from functions.domain.requests.reference import is_valid
from functions.domain.requests.store import Refused, RequestStore
from functions.platform.gsm import strip_symbols
from functions.platform.observability import logger, metrics
from functions.platform.texts import known, words
from functions.sms.replies import Turn
from functions.sms.texts import ask, for_sms, help_text, text
from functions.sms.understand import Guess, detect_language, keyword_in_prose, understand
from schemas.catalog import Catalog, Service
from schemas.request import MAX_TEXT, Contact, NewRequest

# The command words are language-pack data (``words``): help, stop (Twilio's default opt-out
# words are the English pack's), start, yes, no. STATUS is the same in every language.
STATUS_WORD = "STATUS"
UNDETECTED = "en"  # unknown text in no language we can tell: English, pointing to HJÄLP

_LOCATION = re.compile(
    r"^(?P<value>.*?\d+(?:-\d+)?(?:\s?[A-Za-z](?![\wÅÄÖåäö]))?)(?:[\s,.;:]+(?P<rest>.*))?$",
    re.DOTALL,
)


class Incoming(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    """One inbound text: who sent it, Twilio's id for it, the text, and Twilio's opt-out type."""

    caller: Caller
    message_sid: str
    body: str
    opt_out_type: str = ""


class Dialogue:
    """Turns texts into replies, filing requests and recording consent on the way."""

    turn: Turn  # the text being answered (set by :meth:`reply`)

    def __init__(
        self,
        catalog: Catalog,
        citizens: CitizenStore | None = None,
        requests: RequestStore | None = None,
    ) -> None:
        self.catalog = catalog
        self.citizens = citizens or CitizenStore()
        self.requests = requests or RequestStore()

    def reply(self, message: Incoming) -> str:
        """The reply to ``message`` (GSM-7, or UCS-2 in a UCS-2 language): the one kept for
        its ``MessageSid`` when Twilio sends it again (:mod:`functions.sms.replies`)."""
        body = " ".join(strip_symbols(message.body).split())
        word, _, rest = body.partition(" ")
        command = word.upper().strip(".,:;!?")
        self.turn = turn = Turn(message.caller.citizen, message.message_sid, self.citizens)
        if message.opt_out_type or not self._keyword(command):
            kept = turn.load()  # one read: the kept reply, the conversation, the consent
            if kept is not None:
                metrics.add_metric(name="SmsRetryAnswered", unit="Count", value=1)
                return kept
        answer, language = self._reply(message, body, command, rest)
        return turn.finish(for_sms(answer, language))

    def _keyword(self, command: str) -> bool:
        """A service keyword (no command word): its reply depends on nothing stored but the
        number's consent, which its filing checks in the transaction."""
        commands = ("stop", "start", "help", "yes", "no", "reopen")
        if not command or command == STATUS_WORD or any(command in words(w) for w in commands):
            return False
        return self.catalog.by_keyword(command) is not None

    def _reply(self, message: Incoming, body: str, command: str, rest: str) -> tuple[str, str]:
        citizen = message.caller.citizen
        turn, citizens = self.turn, self.citizens
        opt_out = message.opt_out_type.upper()
        # The number texted us: it is proven (a STOP below still declines notifications).
        phone = contact_id("phone", message.caller.phone)
        turn.writes.append(citizens.confirmed_update(phone, "sms:inbound"))
        stop, start, helps = words("stop"), words("start"), words("help")
        yes, no = words("yes"), words("no")

        if opt_out == "STOP" or command in stop:
            turn.writes += citizens.consent_items(
                citizen, "sms", False, f"sms:{command or opt_out}"
            )
            turn.writes.append(citizens.conversation_delete(citizen))
            metrics.add_metric(name="SmsOptOut", unit="Count", value=1)
            language = stop.get(command, "en")
            return text("stop", language), language
        if opt_out == "START" or command in start:
            turn.writes += citizens.consent_items(citizen, "sms", True, f"sms:{command or opt_out}")
            language = start.get(command, "en")
            return text("start", language), language
        if command in helps:
            turn.writes.append(citizens.language_put(citizen, helps[command], "sms:keyword"))
            return help_text(self.catalog, helps[command]), helps[command]
        if command == STATUS_WORD:
            turn.writes.append(citizens.conversation_delete(citizen))
            return self._status(citizen, rest)
        if command in (reopens := words("reopen")):
            turn.writes.append(citizens.conversation_delete(citizen))
            language = reopens[command]
            from functions.sms import after  # noqa: PLC0415 - reopening and verdicts (~1 ms of init) only when asked

            answer = after.reopen_reply(citizen, rest, language, self.citizens, self.requests)
            return answer, language
        pending = turn.conversation
        question = pending if pending and pending.get("question") else None
        if question and not rest and (command in yes or command in no):
            return self._answered(message, question, command in yes)
        if command in yes and not rest:
            confirmed = self._confirmed(citizen, yes[command])
            if confirmed:
                turn.writes.append(citizens.language_put(citizen, yes[command], "sms:keyword"))
                return confirmed, yes[command]
        found = self.catalog.by_keyword(command) if command else None
        if found:  # its language is remembered with the filing (one transaction)
            service, language = found
            prose = keyword_in_prose(service, language, rest)
            if prose:  # "sopor har inte hämtats på Sopvägen 3": asked, not filed
                return self._ask_first(citizen, prose, language)
            return self._fill(message, service, language, {}, None, rest), language
        if pending and not question:
            service_or_none = self.catalog.service(pending.get("service", ""))
            if service_or_none is not None:
                language = known(pending.get("language"))
                answer = self._fill(
                    message,
                    service_or_none,
                    language,
                    dict(pending.get("attributes") or {}),
                    pending.get("awaiting"),
                    body,
                    pending.get("description"),
                )
                return answer, language
        if len(body) == 1:  # a digit answering the verdict question (no field was asked for)
            from functions.sms import after  # noqa: PLC0415 - as above

            if verdict := after.verdict_reply(citizen, body, self.citizens):
                return verdict
        if is_valid(body):  # a bare reference, as in our filing reply: its status
            return self._status(citizen, body)
        return self._free_text(citizen, body)

    # -- free text ----------------------------------------------------------------------------
    def _free_text(self, citizen: str, body: str) -> tuple[str, str]:
        """Text without a keyword: one question when it names a service, else the help."""
        language = detect_language(body, self.catalog)
        guess = understand(body, self.catalog) if body else None
        if guess is None:  # the help: in the language last used, else the text's
            shown = last_used([citizen], self.citizens) or language or UNDETECTED
            return help_text(self.catalog, shown, unknown=True), shown
        return self._ask_first(citizen, guess, language or guess.language)

    def _ask_first(self, citizen: str, guess: Guess, language: str) -> tuple[str, str]:
        """ONE question naming the service (and address); the yes that files it comes next."""
        service = guess.service
        conversation = self.citizens.conversation_put(
            citizen,
            {
                "question": True,
                "service": service.service_code,
                "language": language,
                "attributes": guess.attributes,
                "description": guess.rest[:MAX_TEXT] or None,
            },
        )
        self.turn.writes.append(conversation)
        metrics.add_metric(name="SmsFreeTextQuestion", unit="Count", value=1)
        logger.info(
            "sms asks about free text",
            extra={"citizen": citizen, "service": service.service_code, "language": language},
        )
        name = service.name(language)
        address = next(iter(guess.attributes.values()), "")
        if address:
            return text("question", language, service=name, address=address), language
        return text("question_no_address", language, service=name), language

    def _answered(self, message: Incoming, question: dict[str, Any], yes: bool) -> tuple[str, str]:
        """A yes files what the free-text question named; a no drops it."""
        citizen = message.caller.citizen
        language = known(question.get("language"))
        service = self.catalog.service(str(question.get("service") or ""))
        if not yes or service is None:
            self.turn.writes.append(self.citizens.conversation_delete(citizen))
            return text("declined", language), language
        attributes = dict(question.get("attributes") or {})
        description = question.get("description")
        return self._fill(message, service, language, attributes, None, "", description), language

    # -- filing -------------------------------------------------------------------------------
    def _fill(
        self,
        message: Incoming,
        service: Service,
        language: str,
        attributes: dict[str, str],
        start: str | None,
        body: str,
        description: str | None = None,
    ) -> str:
        citizen = message.caller.citizen
        extra = parse_into(service, attributes, start, body)
        if extra:
            description = f"{description} {extra}".strip() if description else extra
        for attr in service.attributes:
            value = attributes.get(attr.code, "")
            problem = attr.problem(value) if value else None
            if problem:
                attributes.pop(attr.code)
            if problem or (attr.required and not value):
                state = {
                    "service": service.service_code,
                    "language": language,
                    "attributes": attributes,
                    "awaiting": attr.code,
                    "description": description,
                }
                self.turn.writes.append(self.citizens.conversation_put(citizen, state))
                self.turn.writes.append(
                    self.citizens.language_put(citizen, language, "sms:keyword")
                )
                question = ask(service, attr, language)
                logger.info(
                    "sms asks for a field",
                    extra={"citizen": citizen, "field": attr.code, "invalid": bool(problem)},
                )
                return f"{attr.error(language)} {question}" if problem else question
        request = NewRequest(
            service_code=service.service_code,
            attributes=attributes,
            description=(description or "")[:MAX_TEXT] or None,
            contact=Contact(phone=message.caller.phone),
            notify_by="sms",
            language=language,
            consent=self.turn.consent is not False,
        )
        try:
            filed = self._file(message, service, request)
        except InvalidRequest as exc:
            return exc.errors[0]["message"]
        reference = filed.record["reference"]
        if filed.created:
            metrics.add_metric(name="RequestsFiled", unit="Count", value=1)
        logger.info(
            "sms filed a request",
            extra={"reference": reference, "citizen": citizen, "new_request": filed.created},
        )
        return filed_text(service, language, reference, filed.duplicate)

    def _file(self, message: Incoming, service: Service, request: NewRequest) -> Filed:
        """File ``request`` with the turn's writes and its reply, in the filing's transaction.

        Unread consent (a keyword text skips the read) is checked there instead: when the
        number opted out, nothing is written and the request is filed recording no consent."""
        citizen, language, turn = message.caller.citizen, request.language, self.turn
        writes = [
            *turn.writes,
            self.citizens.language_put(citizen, language, "sms:keyword"),
            self.citizens.conversation_delete(citizen),
        ]
        checked = not turn.read
        while True:
            check = [self.citizens.consent_check(citizen, "sms")] if checked else []

            def also(
                record: Request, duplicate: bool, check: list[dict[str, Any]] = check
            ) -> list[dict[str, Any]]:
                answer = filed_text(service, language, record["reference"], duplicate)
                return [*check, *writes, turn.kept(for_sms(answer, language))]

            try:
                filed = file_request(
                    request,
                    channel="sms",
                    citizen=citizen,
                    message_id=message.message_sid,
                    store=self.requests,
                    catalog=self.catalog,
                    also=also,
                )
            except Refused as refused:
                if not checked or refused.index != 0:
                    raise
                checked, request = False, request.model_copy(update={"consent": False})
                continue
            # Written with the filing, or by the first delivery of this message id (a filing
            # answered from its message-id item); a "me too" that counted nothing (followed
            # already, or full) wrote nothing: then the turn is written on its own.
            turn.written = filed.created or filed.counted or not filed.duplicate
            return filed

    # -- confirmation -------------------------------------------------------------------------
    def _confirmed(self, citizen: str, language: str) -> str | None:
        """``JA``/``YES`` after a confirmation SMS: the reply naming its request; else None.

        A texting number's citizen id is its contact id, so the pending confirmation is found
        under it. After a STOP, ``JA`` does not undo it (``START`` does)."""
        pending = self.citizens.pending(citizen)
        if pending is None or self.turn.conversation:
            return None
        if self.turn.consent is False:
            return None
        metrics.add_metric(name="ContactConfirmed", unit="Count", value=1)
        logger.info("sms confirmed a number", extra={"reference": pending["reference"]})
        return text("confirmed", language, reference=str(pending["reference"]))

    # -- status -------------------------------------------------------------------------------
    def _status(self, citizen: str, rest: str) -> tuple[str, str]:
        """The sender's requests, and those of the app account their number is linked to (and
        its other linked contacts), in the language they last used (else the default)."""
        ids = links.identities(citizen, self.citizens)
        wanted = re.sub(r"[\s-]", "", rest)
        if not wanted:
            records = links.requests_of(citizen, self.citizens, self.requests, 3, ids)
            language = choose(last_used(ids, self.citizens, records[:1]))
            if not records:
                return text("status_none", language), language
            items = "; ".join(
                f"{r['reference']} {service_name(self.catalog, r['service_code'], language)}: "
                f"{status_name(r['status'], language)}"
                for r in records
            )
            return text("status_list", language, items=items), language
        shown = wanted[:20]
        record = None
        if wanted.isdigit() and 8 <= len(wanted) <= 12 and is_valid(wanted):
            record = links.owned(wanted, citizen, self.citizens, self.requests, ids)
        language = choose(last_used(ids, self.citizens, [record] if record else []))
        if not wanted.isdigit() or not 8 <= len(wanted) <= 12:
            return text("status_invalid", language, reference=shown), language
        if record is None:
            return text("status_not_found", language, reference=shown), language
        return status_line(self.catalog, record, language), language


def filed_text(service: Service, language: str, reference: str, duplicate: bool) -> str:
    """The reply to a filing: its reference, or the open request a "me too" follows (nothing
    of that request's filer)."""
    if duplicate:
        return text("duplicate", language, reference=reference)
    return text("filed", language, service=service.name(language), reference=reference)


def status_line(catalog: Catalog, record: Request, language: str) -> str:
    line = text(
        "status",
        language,
        reference=record["reference"],
        service=service_name(catalog, record["service_code"], language),
        status=status_name(record["status"], language),
    )
    if record["status"] not in ("resolved", "rejected") and record.get("expected_at"):
        line += text("status_expected", language, date=str(record["expected_at"])[:10])
    return line


def parse_into(
    service: Service, attributes: dict[str, str], start: str | None, body: str
) -> str | None:
    """Fill ``attributes`` from ``body`` (see the module doc); the left-over text, if any."""
    codes = [a.code for a in service.attributes]
    first = codes.index(start) if start in codes else 0
    targets = [a for a in service.attributes[first:] if a.code not in attributes or a.code == start]
    rest = body.strip()
    for i, attr in enumerate(targets):
        if not rest:
            break
        last = i == len(targets) - 1
        if attr.input == "digits":
            if last:
                value, rest = re.sub(r"[\s-]", "", rest), ""
            else:
                word, _, rest = rest.partition(" ")
                value = word.replace("-", "")
        elif attr.location:
            match = _LOCATION.match(rest)
            if match:
                value, rest = match.group("value"), match.group("rest") or ""
            else:
                value, rest = rest, ""
        else:
            value, rest = rest, ""
        attributes[attr.code] = value.strip(" ,.;:")
        rest = rest.strip()
    return rest or None

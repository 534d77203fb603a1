"""Deciding who hears what: one notification per event, on the citizen's channel and language.

Rules, in order:
- a ``submitted`` event only gets a receipt on channels that had no synchronous reply that
  the citizen keeps (web e-service and Open311; SMS, phone and the app answered at once);
- the channel is the citizen's preference, else the request's ``notify_by`` (by default the
  channel filed on); ``none`` means no notifications;
- nothing is sent without consent: the request's own opt-in (web forms ask explicitly; a
  citizen who texts or calls us may STOP at any time), and never after an opt-out in the
  consent ledger (STOP by SMS, ``PUT /app/v1/me/preferences``);
- SMS goes only to mobile numbers of the jurisdiction's countries (catalog data);
- an unconfirmed phone or e-mail (typed in a web form, Open311 or app preferences) gets a
  confirmation instead (:class:`Confirm`; the service sends at most one per request and three
  per contact a day) and nothing else until it is confirmed; the number a citizen texted or
  called from is proven;
- a filer whose contact is linked to an app citizen is that citizen: their preferences and
  consent count;
- the text is the template for the event (and status) in the language the citizen last used
  with the bus (any channel), else their preference, else the request's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from functions.domain.citizens.contacts import contact_id, sms_capable
from functions.domain.citizens.identity import pseudonym
from functions.domain.requests.records import Request
from functions.platform.catalog import get_catalog
from functions.platform.texts import by_key, known
from schemas.event_types import SLA_BREACHED, STATUS_CHANGED, SUBMITTED

RECEIPT_CHANNELS = frozenset({"eservice", "open311"})


class Citizens(Protocol):
    def consent(self, citizen: str, channel: str) -> bool | None: ...

    def preferences(self, citizen: str) -> dict[str, Any]: ...

    def is_confirmed(self, contact: str) -> bool: ...


@dataclass(frozen=True)
class Message:
    channel: str  # sms | email | push
    to: str
    subject: str
    body: str
    kind: str  # template key
    language: str = "sv"


@dataclass(frozen=True)
class Confirm:
    """The contact is unconfirmed: ask it to confirm (instead of anything else)."""

    channel: str  # sms | email
    to: str
    contact: str  # its pseudonymous id
    language: str


@dataclass(frozen=True)
class Skip:
    reason: str


def templates() -> dict[str, dict[str, str]]:
    """The notification texts, ``{key: {language: text}}``: every language pack's ``notify``."""
    return by_key("notify")


def template_key(event: dict[str, Any]) -> str | None:
    kind = event["type"]
    if kind == SUBMITTED:
        return "submitted"
    if kind == STATUS_CHANGED:
        key = f"status_changed.{event['data']['status']}"
        return key if key in templates() else None
    if kind == SLA_BREACHED:
        return "sla_breached"
    return None


def render(key: str, language: str, record: Request, note: str | None) -> tuple[str, str]:
    """The subject and body for ``key`` in ``language``, filled from the request."""
    texts = templates()
    lang = language if language in texts[key] else "sv"
    catalog = get_catalog()
    service = catalog.service(record["service_code"])
    agency = next((a for a in catalog.agencies if a.id == record["agency"]), None)
    expected = (
        datetime.fromisoformat(record["expected_at"].replace("Z", "+00:00")).date().isoformat()
    )
    values = {
        "reference": record["reference"],
        "service": service.name(lang) if service else record["service_code"],
        "agency": agency.name(lang) if agency else record["agency"],
        "expected_date": expected,
        "note": note or "",
    }
    values["note_line"] = texts["note_line"][lang].format(**values) if note else ""
    return texts["subject"][lang].format(**values), texts[key][lang].format(**values)


def plan(
    event: dict[str, Any],
    record: Request,
    citizens: Citizens,
    *,
    person: str | None = None,
    language: str | None = None,
) -> Message | Confirm | Skip:
    """What to send for ``event`` about ``record``, or why nothing is sent.

    ``person`` is the app citizen the filer's contact is linked to (their preferences and
    consent count), ``language`` the one the citizen last used with the bus."""
    key = template_key(event)
    if key is None:
        return Skip("no template for this event")
    if key == "submitted" and record["channel"] not in RECEIPT_CHANNELS:
        return Skip("the channel answered at once")
    owners = list(dict.fromkeys([record["citizen"], person or record["citizen"]]))
    prefs = citizens.preferences(owners[-1])
    channel = prefs.get("notify_by") or record.get("notify_by") or "none"
    if channel == "none":
        return Skip("the citizen asked for no notifications")
    language = language or prefs.get("language") or record.get("language") or "sv"
    contact = {
        **record.get("contact", {}),
        **{k: v for k, v in prefs.items() if k in ("phone", "email", "push_endpoint") and v},
    }
    to = {
        "sms": contact.get("phone"),
        "email": contact.get("email"),
        "push": contact.get("push_endpoint"),
    }.get(channel)
    if not to:
        return Skip(f"no {channel} address")
    ledgers = [citizens.consent(owner, channel) for owner in owners]
    ledger = False if False in ledgers else (True if True in ledgers else None)
    # A STOP texted from this number counts whoever filed (the app, a web form, a call).
    if (
        channel == "sms"
        and ledger is not False
        and citizens.consent(pseudonym("phone", to), "sms") is False
    ):
        ledger = False
    implied = record["channel"] in ("sms", "voice") and channel == "sms"
    if ledger is False or (
        ledger is None and not (record.get("consent") or implied or prefs.get("consent"))
    ):
        return Skip("no consent")
    if channel == "sms" and not sms_capable(to, get_catalog().jurisdiction.sms_countries):
        return Skip("not a mobile number of the jurisdiction")
    if channel in ("sms", "email"):
        cid = contact_id("phone" if channel == "sms" else "email", to)
        proven = implied and to == (record.get("contact") or {}).get("phone")
        if not proven and not citizens.is_confirmed(cid):
            return Confirm(channel=channel, to=to, contact=cid, language=language)
    subject, body = render(key, language, record, event["data"].get("note"))
    language = known(language)
    return Message(channel=channel, to=to, subject=subject, body=body, kind=key, language=language)

"""Erasure: remove one citizen's personal data, and only theirs; keep the anonymous statistics.

A citizen is named by a phone number, an e-mail address or a pseudonymous ``cit_…`` id. The
subject is that identity: the ids named, the contacts their ids derive from, and the ids
proven to be the same person (an app account and the phone and e-mail linked to it with a
one-time code; :mod:`functions.domain.citizens.links`). A
contact merely found on one of their requests (the e-mail typed next to a phone number on a
form) is never followed to another citizen's records: anyone can type anyone's address, and
erasing one's own e-mail must not delete a stranger's consent ledger or STOP. What goes:

* ``requests`` of the subject (their ``citizen`` id): the rows stay (service, agency, channel,
  status, times, the non-personal attributes such as the street) so Open311 and the aggregates
  still count them, but the contact details, the personal attributes, the free text
  (``description``, history notes) and the link to the citizen (``citizen`` becomes
  ``erased``, which also takes the rows out of the citizen's list) are removed, ``notify_by``
  becomes ``none`` and ``erased_at`` is set;
* ``requests`` of someone else that hold the subject's contact (found by its keyed hash on the
  ``by-contact-key`` index): that contact is removed from that request alone (notifications to
  it stop); the request, its citizen and their other contact stay;
* ``citizens``: every item under the subject's ids (consent state and ledger, preferences,
  SMS conversations, call state) and the outbound message records that name them;
* ``outbox``: the waiting entries of the subject's requests (they may hold free text);
* ``idempotency``: intake's message-id dedup items of the subject's ids, and the rate counters
  of confirmations and link codes kept under them.

Every look-up is a key or index query (no scan), so erasure takes the same time on a city's
data as on a test's. ``dry_run`` counts what would go and changes nothing. Agency audit
entries stay (they hold who read which reference when, never a value). Stored SMS replies
(Powertools idempotency records, keyed on a hash) are not looked for: they expire with the
idempotency table's TTL (``DEDUP_TTL_DAYS``, 7 days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.domain.citizens import links
from functions.domain.citizens.identity import InvalidPhone, normalize_phone, pseudonym
from functions.domain.citizens.store import CitizenStore
from functions.domain.open_data.privacy import street_only
from functions.domain.requests.records import Request
from functions.domain.requests.store import RequestStore
from functions.platform import clock
from functions.platform.catalog import get_catalog
from functions.platform.dedup_store import DedupStore

ERASED = "erased"  # what ``citizen`` holds on an erased request


class InvalidSubject(ValueError):
    """The phone number, e-mail address or citizen id does not name anyone."""


@dataclass
class Erasure:
    """What an erasure touched, or would touch on a dry run (counts only: no personal data)."""

    citizens: list[str] = field(default_factory=list)
    requests: int = 0
    contacts_removed: int = 0
    citizen_items: int = 0
    dedup_items: int = 0
    outbox_items: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "citizens": len(self.citizens),
            "requests": self.requests,
            "contacts_removed": self.contacts_removed,
            "citizen_items": self.citizen_items,
            "dedup_items": self.dedup_items,
            "outbox_items": self.outbox_items,
            "dry_run": self.dry_run,
        }


def subject_ids(
    *, phone: str | None = None, email: str | None = None, citizen: str | None = None
) -> list[str]:
    """The citizen ids named (a phone number and an e-mail address name the ids they derive)."""
    ids: list[str] = []
    if phone:
        try:
            e164 = normalize_phone(phone, get_catalog().jurisdiction.phone_region)
        except InvalidPhone as exc:
            raise InvalidSubject("not a valid phone number") from exc
        ids.append(pseudonym("phone", e164))
    if email:
        if "@" not in email:
            raise InvalidSubject("not an e-mail address")
        ids.append(pseudonym("email", email.strip().lower()))
    if citizen:
        if not citizen.startswith("cit_") or len(citizen) < 8:
            raise InvalidSubject("a citizen id starts with cit_")
        ids.append(citizen)
    if not ids:
        raise InvalidSubject("name a phone number, an e-mail address or a citizen id")
    return list(dict.fromkeys(ids))


def _kind_of(record: Request, cid: str) -> str | None:
    """Which contact of ``record`` (``phone`` or ``email``) derives the citizen id ``cid``."""
    contact = record.get("contact") or {}
    if contact.get("phone") and pseudonym("phone", str(contact["phone"])) == cid:
        return "phone"
    if contact.get("email") and pseudonym("email", str(contact["email"]).lower()) == cid:
        return "email"
    return None


def erase(
    *,
    phone: str | None = None,
    email: str | None = None,
    citizen: str | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> Erasure:
    """Erase the citizen named by ``phone``, ``email`` or ``citizen`` (any of them); idempotent.

    With ``dry_run`` nothing changes: the answer counts what an erasure would touch.
    """
    named = subject_ids(phone=phone, email=email, citizen=citizen)
    requests, citizens, dedup = RequestStore(), CitizenStore(), DedupStore()
    # One person across channels: the app account a contact is linked to, and its proven
    # contacts (a code asked for and never entered links nothing, so it is never followed).
    ids = list(dict.fromkeys(cid for n in named for cid in links.identities(n, citizens)))
    at = clock.iso(now)
    result = Erasure(citizens=list(ids), dry_run=dry_run)

    own: dict[str, Request] = {}
    for cid in ids:
        own |= {r["reference"]: r for r in requests.all_of_citizen(cid)}
    # Someone else's requests holding the subject's contact: that contact goes, nothing else.
    others: dict[str, tuple[Request, str]] = {}
    for cid in ids:
        for record in requests.holding_contact_of(cid):
            kind = _kind_of(record, cid)
            if record["reference"] not in own and kind:
                others[record["reference"]] = (record, kind)

    waiting = {ref: requests.waiting_events(ref) for ref in own}
    items: set[tuple[str, str]] = set()
    for cid in ids:
        items |= citizens.keys_of(cid)
    dedup_keys = sorted({key for cid in ids for key in dedup.keys_of_citizen(cid)})
    # The caps on codes and confirmations count under the ids too (they expire within a day).
    counters = [f"ratelimit#{scope}#{cid}" for cid in ids for scope in ("confirm", "link")]
    dedup_keys += [key for key in counters if dedup.seen(key)]

    result.requests = len(own)
    result.contacts_removed = len(others)
    result.outbox_items = sum(len(v) for v in waiting.values())
    result.citizen_items = len(items)
    result.dedup_items = len(dedup_keys)
    if dry_run:
        return result

    for reference, record in own.items():
        history = [
            {k: v for k, v in entry.items() if k != "note"} for entry in record.get("history") or []
        ]
        requests.anonymise(reference, ERASED, public_attributes(record), history, at)
    for reference, (record, kind) in others.items():
        requests.drop_contact(reference, kind, record.get("notify_by"))
    requests.delete_events(e for events in waiting.values() for e in events)
    citizens.delete_keys(items)
    for key in dedup_keys:
        dedup.delete(key)
    return result


def public_attributes(record: Request) -> dict[str, Any]:
    """The attributes an erased request keeps: addresses cut to the street, choices and
    numbers; free text goes (it may name anyone)."""
    service = get_catalog().service(str(record.get("service_code")))
    kept: dict[str, Any] = {}
    for code, value in (record.get("attributes") or {}).items():
        attr = service.attribute(code) if service else None
        if attr is None or attr.personal:
            continue
        if attr.location:
            street = street_only(str(value))
            if street:
                kept[code] = street
        elif attr.datatype in ("number", "singlevaluelist"):
            kept[code] = value
    return kept

"""Erasure: remove one citizen's personal data everywhere, keep the anonymous statistics.

A citizen is named by a phone number, an e-mail address or a pseudonymous ``cit_…`` id. What
goes, per table:

* ``requests``: the rows stay (service, agency, channel, status, times, the non-personal
  attributes such as the street) so Open311 and the aggregates still count them, but the
  contact details, the personal attributes, the free text (``description``, history notes)
  and the link to the citizen (``citizen`` becomes ``erased``, which also takes the rows out
  of the citizen's list) are removed, ``notify_by`` becomes ``none`` and ``erased_at`` is set;
* ``citizens``: every item under the citizen's id (consent state and ledger, preferences,
  SMS conversations, call state) and the outbound message records that name them;
* ``outbox``: the entries of those requests still waiting (they may hold free text);
* ``idempotency``: intake's message-id dedup items of the citizen's ids, and any stored reply
  (Powertools idempotency records) that holds one of the erased values.

Agency audit entries stay (they hold who read which reference when, never a value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    """What an erasure touched (counts only: the report itself holds no personal data)."""

    citizens: list[str] = field(default_factory=list)
    requests: int = 0
    citizen_items: int = 0
    dedup_items: int = 0
    outbox_items: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "citizens": len(self.citizens),
            "requests": self.requests,
            "citizen_items": self.citizen_items,
            "dedup_items": self.dedup_items,
            "outbox_items": self.outbox_items,
        }


def _held(contact: dict[str, Any]) -> set[str]:
    return {str(v).strip().lower() for v in contact.values() if v}


def _contact_id(value: str) -> str:
    return pseudonym("email", value) if "@" in value else pseudonym("phone", value)


def subject_ids(
    *, phone: str | None = None, email: str | None = None, citizen: str | None = None
) -> tuple[list[str], set[str]]:
    """The citizen ids named, and the contact values to look for in contact details."""
    ids: list[str] = []
    values: set[str] = set()
    if phone:
        try:
            e164 = normalize_phone(phone, get_catalog().jurisdiction.phone_region)
        except InvalidPhone as exc:
            raise InvalidSubject("not a valid phone number") from exc
        ids.append(pseudonym("phone", e164))
        values.add(e164)
    if email:
        if "@" not in email:
            raise InvalidSubject("not an e-mail address")
        ids.append(pseudonym("email", email.strip().lower()))
        values.add(email.strip().lower())
    if citizen:
        if not citizen.startswith("cit_") or len(citizen) < 8:
            raise InvalidSubject("a citizen id starts with cit_")
        ids.append(citizen)
    if not ids:
        raise InvalidSubject("name a phone number, an e-mail address or a citizen id")
    return ids, values


def erase(
    *,
    phone: str | None = None,
    email: str | None = None,
    citizen: str | None = None,
    now: datetime | None = None,
) -> Erasure:
    """Erase the citizen named by ``phone``, ``email`` or ``citizen`` (any of them); idempotent."""
    ids, contacts = subject_ids(phone=phone, email=email, citizen=citizen)
    requests, citizens, dedup = RequestStore(), CitizenStore(), DedupStore()
    at = clock.iso(now)
    result = Erasure(citizens=list(ids))

    # Requests: by the citizen index, and any whose contact details hold a named value. What
    # the found requests and preferences hold (the e-mail given with a phone number, the app
    # account that saved the number) is the same person's too: follow it until nothing new.
    found: dict[str, Request] = {}
    values: set[str] = set()  # everything personal seen, for the idempotency sweep below
    queried: set[str] = set()
    for _ in range(5):
        for cid in [c for c in ids if c not in queried]:
            queried.add(cid)
            found |= {r["reference"]: r for r in requests.all_of_citizen(cid)}
        found |= {
            r["reference"]: r
            for r in requests.with_contact_details()
            if _held(r.get("contact") or {}) & contacts
        }
        for holder, prefs in citizens.all_preferences():
            held = _held({k: prefs.get(k) for k in ("phone", "email")})
            if held & contacts and holder not in ids:
                ids.append(holder)
        learned = set(contacts)
        for record in found.values():
            learned |= _held(record.get("contact") or {})
        new_ids = [_contact_id(v) for v in learned - contacts]
        contacts |= learned
        ids += [i for i in new_ids if i not in ids]
        if not new_ids and all(c in queried for c in ids):
            break
    result.citizens = list(ids)
    for reference, record in found.items():
        values.update(str(v) for v in (record.get("contact") or {}).values() if v)
        values.update(str(v) for v in (record.get("personal") or {}).values() if v)
        history = [
            {k: v for k, v in entry.items() if k != "note"} for entry in record.get("history") or []
        ]
        requests.anonymise(reference, ERASED, public_attributes(record), history, at)
        result.requests += 1
    values |= contacts

    # Outbox entries of those requests (their free text; published ones are gone already).
    result.outbox_items = requests.delete_waiting_events(set(found))
    values = {v for v in values if len(v) >= 6}  # never sweep on a value too short to be unique

    # The citizen store: everything under the ids, and message records naming them.
    result.citizen_items = citizens.delete_everything_of(ids)

    # Dedup items that point to the citizen, and stored replies holding an erased value.
    for item in dedup.items():
        key = str(item["id"])
        text = json.dumps(item, ensure_ascii=False, default=str)
        if any(f"#{cid}#" in key for cid in ids) or any(v in text for v in values):
            dedup.delete(key)
            result.dedup_items += 1
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

"""Linked contacts: one citizen across channels.

An app citizen (the JWT ``sub``) proves a phone number or e-mail address is theirs with a
one-time code sent there (6 digits, 10 minutes, 5 tries; the fifth wrong one voids it) and
the contact is linked to them: from then on they are one person. The app lists what the phone
filed by SMS or call (and what web forms and Open311 filed with the contact after it was
confirmed), ``STATUS`` by SMS from the phone lists what the app filed, notifications follow
the app's preferences, and erasure of any of them takes all of them.

A stranger must not be able to make the bus text any number at will: codes are capped per
caller (:data:`CODES_PER_HOUR` an hour) and per contact (the confirmation cap: at most
:data:`functions.domain.citizens.contacts.CONFIRMATIONS_PER_DAY` messages a day to one
contact, whatever asks). A contact is linked to one account at a time (proving it again from
another account moves it). Only proven links count anywhere; a code asked for and never
entered links nothing.

The contact's value (the number, the address) is kept only in the link items of the citizens
table (the notifier needs it to send); it is never logged nor put on the bus.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from functions.domain.citizens.contacts import CONFIRMATIONS_PER_DAY, DAY, contact_id, keyed_hash
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.records import Request
from functions.domain.requests.store import RequestStore
from functions.platform.dedup_store import DedupStore

KINDS = ("phone", "email")
CODE_TTL_SECONDS = 10 * 60
CODE_TRIES = 5
CODES_PER_HOUR = 5
# Filed with a contact typed in (anyone can type anyone's): shown to the contact's owner only
# when filed after the contact was confirmed.
TYPED_CHANNELS = frozenset({"eservice", "open311"})


def mask(kind: str, value: str) -> str:
    """``+46•••••••67`` / ``a•••@example.se``: enough to recognise, too little to use."""
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}•••@{domain}"
    return f"{value[:3]}{'•' * max(len(value) - 5, 1)}{value[-2:]}"


def _code_hash(citizen: str, kind: str, code: str) -> str:
    return keyed_hash(f"link:{citizen}:{kind}:{code}")


# -- asking for and checking a code ----------------------------------------------------------
def request_code(
    citizen: str, kind: str, value: str, store: CitizenStore, dedup: DedupStore | None = None
) -> int:
    """Make a code to link ``value`` to ``citizen``; 0 when one may be sent, else the seconds
    until the caller's or the contact's cap lets one more (nothing is made then)."""
    dedup = dedup or DedupStore()
    contact = contact_id(kind, value)
    wait = dedup.take(f"ratelimit#link#{citizen}", CODES_PER_HOUR, 3600)
    if wait:
        return wait
    wait = dedup.take(f"ratelimit#confirm#{contact}", CONFIRMATIONS_PER_DAY, DAY)
    if wait:
        return wait
    # The code itself is made by the notifier when it sends it (it never travels); until then
    # the pending item holds an unguessable placeholder.
    store.save_link_pending(citizen, kind, value, contact, secrets.token_hex(32), CODE_TTL_SECONDS)
    return 0


def issue_code(citizen: str, kind: str, store: CitizenStore) -> tuple[str, str] | None:
    """The notifier's part: a fresh code for the pending link (its hash kept); ``(value,
    code)`` to send, or None when nothing is pending (expired, or linked meanwhile)."""
    pending = store.link_pending(citizen, kind)
    if pending is None:
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    value, contact = str(pending["value"]), str(pending["contact"])
    store.save_link_pending(
        citizen, kind, value, contact, _code_hash(citizen, kind, code), CODE_TTL_SECONDS
    )
    return value, code


def verify(citizen: str, kind: str, value: str, code: str, store: CitizenStore) -> str:
    """``ok`` (the contact is linked), ``wrong``, or ``void`` (the fifth wrong try voids it)."""
    pending = store.link_pending(citizen, kind)
    if pending is None:
        return "wrong"
    right = hmac.compare_digest(str(pending["code"]), _code_hash(citizen, kind, code.strip()))
    if right and str(pending["value"]) == value:
        link(citizen, kind, value, store)
        return "ok"
    try:
        tries = store.count_wrong_link_code(citizen, kind)
    except store.client.exceptions.ConditionalCheckFailedException:
        return "wrong"
    if tries >= CODE_TRIES:
        store.delete_link_pending(citizen, kind)
        return "void"
    return "wrong"


def link(citizen: str, kind: str, value: str, store: CitizenStore) -> None:
    """Link a proven contact to ``citizen`` (moving it from another account, replacing the
    citizen's earlier contact of that kind); the contact counts as confirmed from now on."""
    contact = contact_id(kind, value)
    for item in store.links_of(contact):
        if item["sk"] == "linked_to" and item["citizen"] != citizen:
            store.unlink(str(item["citizen"]), str(item["kind"]), contact)
    earlier = linked(citizen, store).get(kind)
    if earlier and earlier["contact"] != contact:
        store.unlink(citizen, kind, str(earlier["contact"]))
    store.save_link(citizen, kind, value, contact)
    store.mark_confirmed(contact, "app:link")


def unlink(citizen: str, kind: str, store: CitizenStore) -> bool:
    """Remove the citizen's linked contact of ``kind``; False when there was none."""
    earlier = linked(citizen, store).get(kind)
    if earlier is None:
        return False
    store.unlink(citizen, kind, str(earlier["contact"]))
    return True


# -- who is one person ----------------------------------------------------------------------
def _proven(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {f"link#{k}" for k in KINDS}
    return {str(item["kind"]): item for item in items if str(item["sk"]) in kinds}


def linked(citizen: str, store: CitizenStore) -> dict[str, dict[str, Any]]:
    """The citizen's proven links by kind: ``{"phone": {"value", "contact", "at"}, …}``."""
    return _proven(store.links_of(citizen))


def account_of(citizen: str, store: CitizenStore) -> str:
    """The app citizen a contact's id is linked to, else the id itself."""
    back = next((i for i in store.links_of(citizen) if i["sk"] == "linked_to"), None)
    return str(back["citizen"]) if back else citizen


def identities(citizen: str, store: CitizenStore) -> dict[str, str | None]:
    """Every id that is the same person as ``citizen``, each with the time from which what web
    forms and Open311 filed under it counts (None: all of it). The id itself, the app
    account it is linked to and that account's other proven contacts (one query when there
    are no links)."""
    own = store.links_of(citizen)
    back = next((i for i in own if i["sk"] == "linked_to"), None)
    account = str(back["citizen"]) if back else citizen
    ids: dict[str, str | None] = {citizen: None, account: None}
    for item in _proven(store.links_of(account) if back else own).values():
        cid = str(item["contact"])
        if cid not in ids:
            ids[cid] = store.confirmed_at(cid) or str(item.get("at", ""))
    return ids


def counts(record: Request, ids: dict[str, str | None]) -> bool:
    """Is ``record`` one of the person's (``ids`` from :func:`identities`)?"""
    owner = record.get("citizen")
    if owner not in ids:
        return False
    since = ids[owner]
    return (
        since is None
        or record["channel"] not in TYPED_CHANNELS
        or (record["submitted_at"][:19] >= since[:19])
    )


def requests_of(
    citizen: str,
    store: CitizenStore,
    requests: RequestStore,
    limit: int = 100,
    ids: dict[str, str | None] | None = None,
) -> list[Request]:
    """The person's requests across their linked identities (``ids``, else looked up), newest
    first."""
    ids = ids if ids is not None else identities(citizen, store)
    found: dict[str, Request] = {}
    for cid in ids:
        for record in requests.list_by_citizen(cid, limit=limit):
            if counts(record, ids):
                found[record["reference"]] = record
    ordered = sorted(found.values(), key=lambda r: r["submitted_at"], reverse=True)
    return ordered[:limit]


def owned(
    reference: str,
    citizen: str,
    store: CitizenStore,
    requests: RequestStore,
    ids: dict[str, str | None] | None = None,
) -> Request | None:
    """The person's request with this reference, or None (also for anyone else's)."""
    record = requests.get(reference)
    ids = ids if ids is not None else identities(citizen, store)
    if record is None or not counts(record, ids):
        return None
    return record

"""Confirmed contacts, confirmation links and the status look-up's one-time codes.

A phone number or e-mail address typed where the citizen has not proven it (a web form,
Open311, app preferences) is unconfirmed: until it is confirmed the bus sends it at most one
confirmation message per request and nothing else, and at most
:data:`CONFIRMATIONS_PER_DAY` confirmation messages per contact in 24 hours, whoever files.
A number that texted or called the bus is proven by that; a ``JA``/``YES`` by SMS or the
button behind an e-mail's link proves the others. A confirmed contact stays confirmed (until
erased: its state sits under the contact's pseudonymous id, which erasure deletes).

SMS only ever goes to mobile numbers of the jurisdiction's countries (catalog data).

Tokens and codes are stored as keyed hashes only, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.store import CitizenStore
from functions.platform.dedup_store import DedupStore
from functions.platform.dynamo import from_item
from functions.platform.settings import get_settings

CONFIRMATIONS_PER_DAY = 3
DAY = 24 * 3600
TOKEN_TTL_SECONDS = 7 * DAY
PENDING_TTL_SECONDS = 30 * DAY
CODE_TTL_SECONDS = 10 * 60
CODE_TRIES = 5


def contact_id(kind: str, value: str) -> str:
    """The pseudonymous id of a contact (``phone`` in E.164, or ``email``)."""
    return pseudonym(kind, value.lower() if kind == "email" else value)


def sms_capable(phone: str, countries: tuple[str, ...]) -> bool:
    """True for a mobile number (E.164) of one of ``countries``; premium-rate, fixed-line and
    foreign numbers are never texted."""
    import phonenumbers  # noqa: PLC0415 - phonenumbers (~70 ms) only where a number is checked

    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return phonenumbers.region_code_for_number(number) in countries and kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def _hash(value: str) -> str:
    key = get_settings().pseudonym_key.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


keyed_hash = _hash  # what links keep of their codes


# -- confirmation ----------------------------------------------------------------------------
def is_confirmed(kind: str, value: str, store: CitizenStore | None = None) -> bool:
    return (store or CitizenStore()).is_confirmed(contact_id(kind, value))


def confirm(kind: str, value: str, source: str, store: CitizenStore | None = None) -> None:
    (store or CitizenStore()).mark_confirmed(contact_id(kind, value), source)


def claim_confirmation(
    reference: str,
    contact: str,
    dedup: DedupStore | None = None,
    also: Sequence[dict[str, Any]] = (),
) -> int:
    """May a confirmation for ``reference`` go to ``contact`` (an id)? 0 yes; -1 one went
    already for this request; else the seconds until the contact's daily cap lets one more.

    One read of both items (``BatchGetItem``) and one transaction that remembers the claim,
    counts the hit and writes ``also`` (transaction items: what the confirmation leaves
    behind, such as the pending item and the link's token), all or nothing: a concurrent
    claim or hit cancels it and the claim is decided again."""
    dedup = dedup or DedupStore()
    client, table = dedup.client, dedup.table
    key, cap = f"confirm#{reference}#{contact}", f"ratelimit#confirm#{contact}"
    for _ in range(5):
        answer = client.batch_get_item(
            RequestItems={
                table: {"Keys": [{"id": {"S": key}}, {"id": {"S": cap}}], "ConsistentRead": True}
            }
        )
        if answer.get("UnprocessedKeys"):
            continue  # throttled: read again (five times, then the message is retried)
        items = {str(i["id"]): i for i in map(from_item, answer["Responses"].get(table, []))}
        if key in items:
            return -1
        wait, hit = dedup.hit(cap, items.get(cap), CONFIRMATIONS_PER_DAY, DAY)
        if hit is None:
            return wait
        claim = dedup.put_new(key, 400 * DAY)
        try:
            client.transact_write_items(TransactItems=[claim, hit, *also])  # type: ignore[list-item]
        except client.exceptions.TransactionCanceledException:
            continue  # another claim or hit came first: decide again
        return 0
    if answer.get("UnprocessedKeys"):
        raise RuntimeError("confirmation claim throttled")  # the queue retries the message
    return 1  # five races lost in a row: as capped (as DedupStore.take)


def release_confirmation(reference: str, contact: str, dedup: DedupStore | None = None) -> None:
    """The confirmation could not be sent (a retry may try again)."""
    (dedup or DedupStore()).delete(f"confirm#{reference}#{contact}")


def new_link_token(contact: str, reference: str, language: str, store: CitizenStore) -> str:
    """A fresh token for an e-mail confirmation link (only its hash is kept)."""
    token = secrets.token_urlsafe(24)
    store.save_token(
        _hash("token:" + token),
        {"contact": contact, "reference": reference, "language": language},
        TOKEN_TTL_SECONDS,
    )
    return token


def link_token(
    contact: str, reference: str, language: str, store: CitizenStore
) -> tuple[str, dict[str, Any]]:
    """A fresh token for an e-mail confirmation link, and the transaction item that keeps its
    hash (written with the confirmation's claim, :func:`claim_confirmation`)."""
    token = secrets.token_urlsafe(24)
    put = store.token_put(
        _hash("token:" + token),
        {"contact": contact, "reference": reference, "language": language},
        TOKEN_TTL_SECONDS,
    )
    return token, put


def link_target(token: str, store: CitizenStore | None = None) -> dict[str, str] | None:
    """What a link's token confirms (``contact``, ``reference``, ``language``), or None."""
    if not token or len(token) > 64:
        return None
    item = (store or CitizenStore()).token(_hash("token:" + token))
    if item is None:
        return None
    return {k: str(item[k]) for k in ("contact", "reference", "language")}


def confirm_link(token: str, store: CitizenStore | None = None) -> dict[str, str] | None:
    """The button behind the link: confirm its contact, void the token; what it confirmed."""
    store = store or CitizenStore()
    target = link_target(token, store)
    if target is None:
        return None
    store.mark_confirmed(target["contact"], "email:link")
    store.delete_token(_hash("token:" + token))
    return target


# -- one-time codes ----------------------------------------------------------------------------
def issue_code(reference: str, store: CitizenStore | None = None) -> str:
    """A new 6-digit code for looking up ``reference`` (valid 10 minutes, 5 tries)."""
    code = f"{secrets.randbelow(10**6):06d}"
    (store or CitizenStore()).save_code(
        reference, _hash(f"code:{reference}:{code}"), CODE_TTL_SECONDS
    )
    return code


def check_code(reference: str, code: str, store: CitizenStore | None = None) -> str:
    """``ok`` (and the code is used up), ``wrong``, or ``void`` (the fifth wrong try voids it)."""
    store = store or CitizenStore()
    item = store.code(reference)
    if item is None:
        return "wrong"
    if hmac.compare_digest(str(item["code"]), _hash(f"code:{reference}:{code.strip()}")):
        store.delete_code(reference)
        return "ok"
    try:
        tries = store.count_wrong_code(reference)
    except store.client.exceptions.ConditionalCheckFailedException:
        return "wrong"
    if tries >= CODE_TRIES:
        store.delete_code(reference)
        return "void"
    return "wrong"

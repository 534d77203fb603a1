"""One reply per Twilio message, in at most one read and one write.

Each inbound text is a *turn*: what it needs is read in ONE ``BatchGetItem`` (the reply kept
for its ``MessageSid``, the number's conversation and its SMS consent), and everything it
changes (the conversation, the proven number, the remembered language, consent, the filing
with its outbox event) is written in ONE ``TransactWriteItems`` together with the reply itself
(``sms-reply#<citizen>#<MessageSid>`` on the idempotency table, conditional on not existing).

So a Twilio retry of the same ``MessageSid`` finds the reply kept and answers it again without
reading the conversation (a retry of a text that asked a question is never read as the answer
to its own question), and two deliveries racing each other write once: the second's
transaction fails on the kept reply's condition and answers what the first kept. A filing's
own message-id item (intake) still guards against filing twice.

A text that starts with a service keyword (``GATA Storgatan 3 hål``) depends on nothing stored
but the number's SMS consent, so it skips the read: the filing's transaction carries a
``ConditionCheck`` that the number has not opted out (when it has, the transaction writes
nothing and the filing is written again recording no consent). With the "me too" index query,
such a filing makes two calls. Powertools idempotency is not used on this route: see
``docs/performance.md`` for the trade-off.
"""

from __future__ import annotations

import random
import time
from typing import Any

from functions.domain.citizens.store import CitizenStore
from functions.platform.dedup_store import DedupStore
from functions.platform.dynamo import from_item
from functions.platform.errors import THROTTLE_CODES, Throttled

# Twilio retries a webhook within seconds; a day covers every retry and keeps little.
REPLY_TTL_SECONDS = 24 * 3600
_CONFLICT_RETRIES = 4


class Turn:
    """What one text read and will write; ``reply`` is set when its answer was kept before."""

    def __init__(self, citizen: str, message_sid: str, citizens: CitizenStore) -> None:
        self.citizen = citizen
        self.citizens = citizens
        self.dedup = DedupStore(citizens.client)
        self.key = f"sms-reply#{citizen}#{message_sid}"
        self.writes: list[dict[str, Any]] = []
        self.read = False
        self.reply: str | None = None
        self.conversation: dict[str, Any] | None = None
        self.consent: bool | None = None
        self.written = False  # the filing's transaction carried the turn's writes

    def load(self) -> str | None:
        """Read the kept reply, the conversation and the SMS consent (one call); the kept
        reply when this ``MessageSid`` was answered before."""
        citizens, dedup = self.citizens, self.dedup
        wanted = {
            dedup.table: {"Keys": [{"id": {"S": self.key}}], "ConsistentRead": True},
            citizens.table: {
                "Keys": [
                    {"pk": {"S": self.citizen}, "sk": {"S": "conversation#sms"}},
                    {"pk": {"S": self.citizen}, "sk": {"S": "consent#sms"}},
                ],
                "ConsistentRead": True,
            },
        }
        found: dict[str, list[dict[str, Any]]] = {}
        for _ in range(_CONFLICT_RETRIES + 1):  # unprocessed keys (throttling): read them again
            answer = citizens.client.batch_get_item(RequestItems=wanted)  # type: ignore[arg-type]
            for table, items in answer.get("Responses", {}).items():
                found.setdefault(table, []).extend(from_item(i) for i in items)
            wanted = answer.get("UnprocessedKeys") or {}  # type: ignore[assignment]
            if not wanted:
                break
            time.sleep(random.uniform(0, 0.05))  # noqa: S311 - jitter, not crypto
        else:
            raise Throttled("BatchGetItem left keys unprocessed")
        self.read = True
        kept = found.get(dedup.table) or []
        by_sort_key = {str(i["sk"]): i for i in found.get(citizens.table, [])}
        self.conversation = citizens.live_conversation(by_sort_key.get("conversation#sms"))
        consent = by_sort_key.get("consent#sms")
        self.consent = bool(consent["opted_in"]) if consent else None
        self.reply = str(kept[0]["reply"]) if kept else None
        return self.reply

    def kept(self, reply: str) -> dict[str, Any]:
        """The reply as a conditional transaction ``Put`` (once per ``MessageSid``)."""
        return self.dedup.put_new(
            self.key, REPLY_TTL_SECONDS, reply=reply, citizen=self.citizen, kind="sms-reply"
        )

    def finish(self, reply: str) -> str:
        """Write the turn (its changes and the reply, one transaction); the reply to send:
        ``reply``, or the one a racing delivery of the same message kept first."""
        if self.written:
            return reply
        items = [self.kept(reply), *self.writes]
        client = self.citizens.client
        for attempt in range(_CONFLICT_RETRIES):
            try:
                client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return reply
            except client.exceptions.TransactionCanceledException as exc:
                reasons = [
                    r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])
                ]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    first = self.dedup.get(self.key)  # answered meanwhile: say the same
                    return str(first["reply"]) if first else reply
                if "TransactionConflict" not in reasons and not THROTTLE_CODES & set(reasons):
                    raise
                if attempt == _CONFLICT_RETRIES - 1:
                    raise Throttled(", ".join(reasons)) from exc
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")

"""The citizen store: consent ledger, preferences, conversations and SMS delivery statuses.

One DynamoDB table (``citizens``, keys ``pk``/``sk``, TTL on ``expires_at``). Everything about
a citizen sits under ``pk = <citizen id>`` (the pseudonymous ``cit_…`` id, never a phone
number or e-mail address):

=====================================  ===================================================
``sk``                                 item
=====================================  ===================================================
``consent#<channel>``                  current consent on a channel (``opted_in``, ``source``)
``consent#<channel>#<at>#<id>``        one append-only ledger entry (the audit trail)
``preferences``                        notification channel, language, … (``PUT …/me/preferences``)
``conversation#<key>``                 an unfinished SMS (``sms``) or call (``call#<CallSid>``)
``contact#confirmed``                  this contact (the id of a phone or e-mail) is proven
``contact#pending``                    a confirmation was sent: for which request, language
``language``                           the language the citizen last used (and where)
``link#<phone|email>``                 an app citizen's linked contact (value, its id)
``link#pending#<phone|email>``         a code sent to link a contact (hashed; 10 min, 5 tries)
``linked_to``                          under a contact's id: the app citizen it is linked to
``verdict#open``                       under a phone's id: the request its "Reply 1–5" asked about
=====================================  ===================================================

E-mail confirmation links sit under ``pk = confirm#<hash of the token>`` and the status
look-up's one-time codes under ``pk = code#<reference>`` (``sk = lookup``, the code hashed),
both expiring by TTL.

What the bus sent sits under ``pk = message#<provider id>``, ``sk = status``: the notifier
records what it sent (reference, event, channel, template), Twilio's status callbacks how far
the message got, and the e-mail fallback is claimed there once.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any

from functions.platform import clock
from functions.platform.catalog import get_catalog
from functions.platform.dynamo import Store, from_item, pages, to_item
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONVERSATION_TTL_SECONDS = 15 * 60
MESSAGE_TTL_SECONDS = 90 * 24 * 3600

# How far along a message is; a late callback never moves the status backwards.
MESSAGE_STATUS_RANK = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "partially_delivered": 5,
    "delivered": 6,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
    "read": 7,
}


class CitizenStore(Store):
    """Consent, preferences, conversation state and message statuses, by citizen id."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        super().__init__(client)
        self.table = get_settings().citizens_table

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    # -- consent ---------------------------------------------------------------------------
    def set_consent(self, citizen: str, channel: str, opted_in: bool, source: str) -> None:
        """Record a consent change: the current state and an audit entry, in one transaction."""
        self.client.transact_write_items(
            TransactItems=self.consent_items(citizen, channel, opted_in, source)  # type: ignore[arg-type]
        )

    def consent_items(
        self, citizen: str, channel: str, opted_in: bool, source: str
    ) -> list[dict[str, Any]]:
        """:meth:`set_consent` as transaction items (the SMS dialogue writes them with its turn)."""
        at = clock.iso_ms()
        entry = {"citizen": citizen, "channel": channel, "opted_in": opted_in, "source": source}
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item({"pk": citizen, "sk": f"consent#{channel}", "at": at, **entry}),
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {
                            "pk": citizen,
                            "sk": f"consent#{channel}#{at}#{uuid.uuid4().hex[:8]}",
                            "at": at,
                            **entry,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
        ]

    def consent_check(self, citizen: str, channel: str) -> dict[str, Any]:
        """A transaction ``ConditionCheck``: the citizen has not opted out on ``channel``
        (a filing that reads no consent first records consent only while this holds)."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": {"pk": {"S": citizen}, "sk": {"S": f"consent#{channel}"}},
                "ConditionExpression": "attribute_not_exists(pk) OR opted_in = :yes",
                "ExpressionAttributeValues": {":yes": {"BOOL": True}},
            }
        }

    def consent(self, citizen: str, channel: str) -> bool | None:
        """True/False when the citizen opted in/out on ``channel``; None when never asked."""
        item = self._get(citizen, f"consent#{channel}")
        return bool(item["opted_in"]) if item else None

    def consent_ledger(self, citizen: str, channel: str) -> list[dict[str, Any]]:
        """Every recorded consent change on ``channel``, oldest first."""
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": citizen},
                ":prefix": {"S": f"consent#{channel}#"},
            },
            ConsistentRead=True,
        )
        return [
            {k: v for k, v in from_item(i).items() if k not in ("pk", "sk")}
            for i in response.get("Items", [])
        ]

    # -- erasure -------------------------------------------------------------------------
    def keys_of(self, citizen: str) -> set[tuple[str, str]]:
        """The keys of every item under a citizen id and of every message record naming it
        (a query on the table and one on its ``by-citizen`` index: no scan)."""
        keys = {
            (str(i["pk"]), str(i["sk"]))
            for i in pages(
                self.client.query,
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": citizen}},
                ProjectionExpression="pk, sk",
            )
        }
        keys |= {
            (str(i["pk"]), str(i["sk"]))
            for i in pages(
                self.client.query,
                TableName=self.table,
                IndexName="by-citizen",
                KeyConditionExpression="citizen = :c",
                ExpressionAttributeValues={":c": {"S": citizen}},
            )
        }
        return keys

    def delete_keys(self, keys: set[tuple[str, str]]) -> None:
        for pk, sk in keys:
            self.client.delete_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})

    # -- preferences -----------------------------------------------------------------------
    def preferences(self, citizen: str) -> dict[str, Any]:
        item = self._get(citizen, "preferences") or {}
        return {k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at")}

    def save_preferences(self, citizen: str, preferences: dict[str, Any]) -> None:
        """Save preferences; they hold contact details, so they expire after the jurisdiction's
        retention unless saved again (DynamoDB TTL on ``expires_at``)."""
        retention = get_catalog().jurisdiction.retention_days * 24 * 3600
        self.client.put_item(
            TableName=self.table,
            Item=to_item(
                {
                    **preferences,
                    "pk": citizen,
                    "sk": "preferences",
                    "updated_at": clock.iso_ms(),
                    "expires_at": int(time.time()) + retention,
                }
            ),
        )

    # -- conversations (SMS dialogues, calls) -----------------------------------------------
    def get_conversation(self, citizen: str, key: str = "sms") -> dict[str, Any] | None:
        """The unfinished conversation, or None when there is none or it expired."""
        return self.live_conversation(self._get(citizen, f"conversation#{key}"))

    def save_conversation(
        self,
        citizen: str,
        state: dict[str, Any],
        key: str = "sms",
        ttl_seconds: int = CONVERSATION_TTL_SECONDS,
    ) -> None:
        self.client.put_item(**self.conversation_put(citizen, state, key, ttl_seconds)["Put"])

    def conversation_put(
        self,
        citizen: str,
        state: dict[str, Any],
        key: str = "sms",
        ttl_seconds: int = CONVERSATION_TTL_SECONDS,
    ) -> dict[str, Any]:
        """:meth:`save_conversation` as a transaction item."""
        item: dict[str, Any] = {"pk": citizen, "sk": f"conversation#{key}", "state": state}
        item |= {"expires_at": int(time.time()) + ttl_seconds}
        return {"Put": {"TableName": self.table, "Item": to_item(item)}}

    def clear_conversation(self, citizen: str, key: str = "sms") -> None:
        self.client.delete_item(**self.conversation_delete(citizen, key)["Delete"])

    def conversation_delete(self, citizen: str, key: str = "sms") -> dict[str, Any]:
        """:meth:`clear_conversation` as a transaction item."""
        keys = {"pk": {"S": citizen}, "sk": {"S": f"conversation#{key}"}}
        return {"Delete": {"TableName": self.table, "Key": keys}}

    @staticmethod
    def live_conversation(item: dict[str, Any] | None) -> dict[str, Any] | None:
        """The state of a stored conversation item, or None when there is none or it expired."""
        if item is None or int(item.get("expires_at", 0)) <= int(time.time()):
            return None  # DynamoDB deletes expired items lazily; expiry is checked here
        state: dict[str, Any] = item.get("state") or {}
        return state

    # -- outbound message statuses ----------------------------------------------------------
    def record_message_status(
        self, message_sid: str, status: str, error_code: str | None, citizen: str | None
    ) -> bool:
        """Record a Twilio status callback; True when it moved the message's status forward.

        Each status keeps the time it was first seen (``at_<status>``); ``status`` only moves
        forward, so callbacks arriving out of order do not undo ``delivered``.
        """
        client = self.client
        key = {"pk": {"S": f"message#{message_sid}"}, "sk": {"S": "status"}}
        at = clock.iso_ms()
        values: dict[str, Any] = {
            ":at": {"S": at},
            ":ttl": {"N": str(int(time.time()) + MESSAGE_TTL_SECONDS)},
        }
        sets = ["#seen = if_not_exists(#seen, :at)", "expires_at = :ttl"]
        if citizen:
            sets.append("citizen = :citizen")
            values[":citizen"] = {"S": citizen}
        client.update_item(
            TableName=self.table,
            Key=key,
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames={"#seen": f"at_{status}"},
            ExpressionAttributeValues=values,
        )
        rank = MESSAGE_STATUS_RANK.get(status, 0)
        changes: dict[str, Any] = {
            ":status": {"S": status},
            ":rank": {"N": str(rank)},
            ":at": {"S": at},
            ":error": {"S": error_code} if error_code else {"NULL": True},
        }
        try:
            client.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression=(
                    "SET #status = :status, #rank = :rank, updated_at = :at, error_code = :error"
                ),
                ConditionExpression="attribute_not_exists(#rank) OR #rank < :rank",
                ExpressionAttributeNames={"#status": "status", "#rank": "status_rank"},
                ExpressionAttributeValues=changes,
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def message_status(self, message_sid: str) -> dict[str, Any] | None:
        """What is known about an outbound message (``status``, ``error_code``, ``at_*``)."""
        item = self._get(f"message#{message_sid}", "status")
        if item is None:
            return None
        return {k: v for k, v in item.items() if k not in ("pk", "sk")}

    # -- notifications the bus sent (the same message items) ---------------------------------
    @staticmethod
    def _message_key(provider_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"message#{provider_id}"}, "sk": {"S": "status"}}

    def record_sent(
        self,
        provider_id: str,
        *,
        reference: str,
        event_id: str,
        channel: str,
        kind: str,
        citizen: str,
    ) -> None:
        """Remember a sent notification (a status callback may already have created the item)."""
        values = to_item(
            {
                ":reference": reference,
                ":event": event_id,
                ":channel": channel,
                ":kind": kind,
                ":citizen": citizen,
                ":sent": clock.iso_ms(),
                ":ttl": int(time.time()) + MESSAGE_TTL_SECONDS,
            }
        )
        self.client.update_item(
            TableName=self.table,
            Key=self._message_key(provider_id),
            UpdateExpression=(
                "SET #ref = :reference, event_id = :event, channel = :channel, kind = :kind,"
                " citizen = :citizen, sent_at = :sent, expires_at = :ttl"
            ),
            ExpressionAttributeNames={"#ref": "reference"},
            ExpressionAttributeValues=values,
        )

    def claim_fallback(self, provider_id: str) -> bool:
        """True exactly once per notification: the caller may send the fallback."""
        client = self.client
        try:
            client.update_item(
                TableName=self.table,
                Key=self._message_key(provider_id),
                UpdateExpression="SET fallback_at = :t",
                ConditionExpression="attribute_exists(#ref) AND attribute_not_exists(fallback_at)",
                ExpressionAttributeNames={"#ref": "reference"},
                ExpressionAttributeValues={":t": {"S": clock.iso_ms()}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_fallback(self, provider_id: str) -> None:
        """The fallback could not be sent: let a retry claim it again."""
        self.client.update_item(
            TableName=self.table,
            Key=self._message_key(provider_id),
            UpdateExpression="REMOVE fallback_at",
        )

    # -- confirmed contacts, confirmation links, one-time codes -------------------------------
    def mark_confirmed(self, contact: str, source: str) -> None:
        """``contact`` (the pseudonymous id of a phone or e-mail) is proven; kept until erased."""
        self.client.update_item(**self.confirmed_update(contact, source)["Update"])

    def confirmed_update(self, contact: str, source: str) -> dict[str, Any]:
        """:meth:`mark_confirmed` as a transaction item (the first proof's time stays)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": contact}, "sk": {"S": "contact#confirmed"}},
                "UpdateExpression": (
                    "SET #at = if_not_exists(#at, :at), #source = if_not_exists(#source, :s)"
                ),
                "ExpressionAttributeNames": {"#at": "at", "#source": "source"},
                "ExpressionAttributeValues": {":at": {"S": clock.iso_ms()}, ":s": {"S": source}},
            }
        }

    def is_confirmed(self, contact: str) -> bool:
        return self._get(contact, "contact#confirmed") is not None

    def save_pending(self, contact: str, reference: str, language: str, ttl_seconds: int) -> None:
        """A confirmation was sent to ``contact`` for ``reference`` (what ``JA`` refers to)."""
        self.client.put_item(**self.pending_put(contact, reference, language, ttl_seconds)["Put"])

    def pending_put(
        self, contact: str, reference: str, language: str, ttl_seconds: int
    ) -> dict[str, Any]:
        """:meth:`save_pending` as a transaction item."""
        item = to_item(
            {
                "pk": contact,
                "sk": "contact#pending",
                "reference": reference,
                "language": language,
                "expires_at": int(time.time()) + ttl_seconds,
            }
        )
        return {"Put": {"TableName": self.table, "Item": item}}

    def pending(self, contact: str) -> dict[str, Any] | None:
        item = self._get(contact, "contact#pending")
        if item is None or int(item.get("expires_at", 0)) <= int(time.time()):
            return None
        return item

    def save_token(self, token_hash: str, values: dict[str, Any], ttl_seconds: int) -> None:
        """An e-mail confirmation link's token (hashed): which contact and request it confirms."""
        self.client.put_item(**self.token_put(token_hash, values, ttl_seconds)["Put"])

    def token_put(
        self, token_hash: str, values: dict[str, Any], ttl_seconds: int
    ) -> dict[str, Any]:
        """:meth:`save_token` as a transaction item."""
        item = {
            **values,
            "pk": f"confirm#{token_hash}",
            "sk": "token",
            "expires_at": int(time.time()) + ttl_seconds,
        }
        return {"Put": {"TableName": self.table, "Item": to_item(item)}}

    def token(self, token_hash: str) -> dict[str, Any] | None:
        item = self._get(f"confirm#{token_hash}", "token")
        if item is None or int(item.get("expires_at", 0)) <= int(time.time()):
            return None
        return item

    def delete_token(self, token_hash: str) -> None:
        self.client.delete_item(
            TableName=self.table,
            Key={"pk": {"S": f"confirm#{token_hash}"}, "sk": {"S": "token"}},
        )

    def save_code(self, reference: str, code_hash: str, ttl_seconds: int) -> None:
        """The status look-up's one-time code for ``reference`` (hashed), replacing any other."""
        self.client.put_item(
            TableName=self.table,
            Item=to_item(
                {
                    "pk": f"code#{reference}",
                    "sk": "lookup",
                    "code": code_hash,
                    "tries": 0,
                    "expires_at": int(time.time()) + ttl_seconds,
                }
            ),
        )

    def code(self, reference: str) -> dict[str, Any] | None:
        item = self._get(f"code#{reference}", "lookup")
        if item is None or int(item.get("expires_at", 0)) <= int(time.time()):
            return None
        return item

    def count_wrong_code(self, reference: str) -> int:
        """One more wrong try on the code of ``reference``; how many there have been."""
        response = self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"code#{reference}"}, "sk": {"S": "lookup"}},
            UpdateExpression="ADD tries :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["tries"]["N"])

    def delete_code(self, reference: str) -> None:
        self.client.delete_item(
            TableName=self.table,
            Key={"pk": {"S": f"code#{reference}"}, "sk": {"S": "lookup"}},
        )

    # -- the citizen's language ---------------------------------------------------------------
    def save_language(self, citizen: str, language: str, source: str) -> None:
        """The language the citizen last used with the bus (``source``: the channel)."""
        self.client.put_item(**self.language_put(citizen, language, source)["Put"])

    def language_put(self, citizen: str, language: str, source: str) -> dict[str, Any]:
        """:meth:`save_language` as a transaction item (written with a filing)."""
        item = {"pk": citizen, "sk": "language", "language": language, "source": source}
        return {"Put": {"TableName": self.table, "Item": to_item(item | {"at": clock.iso_ms()})}}

    def language(self, citizen: str) -> dict[str, Any] | None:
        """``{"language", "source", "at"}`` as last saved, or None."""
        return self._get(citizen, "language")

    # -- followers ("me too") -----------------------------------------------------------------
    def follower_put(
        self, reference: str, citizen: str, follower: dict[str, Any]
    ) -> dict[str, Any]:
        """A citizen following someone else's request, as a transaction item: under
        ``pk = follow#<reference>``, ``sk = <citizen>``, once per citizen (the condition
        fails for a second follow). ``follower`` holds how to reach them (contact, language,
        notify_by, consent, channel); ``citizen`` names them for erasure's index."""
        item = {"pk": f"follow#{reference}", "sk": citizen, "citizen": citizen} | follower
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(item | {"at": clock.iso()}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def followers(self, reference: str) -> list[dict[str, Any]]:
        """Who follows a request (all pages; a request has at most a capped few)."""
        return [
            {k: v for k, v in item.items() if k not in ("pk", "sk")}
            for item in pages(
                self.client.query,
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"follow#{reference}"}},
            )
        ]

    # -- linked contacts ------------------------------------------------------------------------
    def links_of(self, citizen: str) -> list[dict[str, Any]]:
        """Every ``link…`` item under ``citizen``: its linked contacts (``link#<kind>``), the
        codes waiting (``link#pending#<kind>``) and, under a contact, ``linked_to``."""
        return list(
            pages(
                self.client.query,
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": {"S": citizen}, ":prefix": {"S": "link"}},
                ConsistentRead=True,
            )
        )

    def save_link_pending(
        self, citizen: str, kind: str, value: str, contact: str, code_hash: str, ttl: int
    ) -> None:
        """A code was made for linking ``value`` to ``citizen`` (replacing any other)."""
        self.client.put_item(
            TableName=self.table,
            Item=to_item(
                {
                    "pk": citizen,
                    "sk": f"link#pending#{kind}",
                    "kind": kind,
                    "value": value,
                    "contact": contact,
                    "code": code_hash,
                    "tries": 0,
                    "expires_at": int(clock.now().timestamp()) + ttl,
                }
            ),
        )

    def link_pending(self, citizen: str, kind: str) -> dict[str, Any] | None:
        item = self._get(citizen, f"link#pending#{kind}")
        if item is None or int(item.get("expires_at", 0)) <= int(clock.now().timestamp()):
            return None
        return item

    def count_wrong_link_code(self, citizen: str, kind: str) -> int:
        """One more wrong try on the link code; how many there have been."""
        response = self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": citizen}, "sk": {"S": f"link#pending#{kind}"}},
            UpdateExpression="ADD tries :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["tries"]["N"])

    def delete_link_pending(self, citizen: str, kind: str) -> None:
        self.client.delete_item(
            TableName=self.table,
            Key={"pk": {"S": citizen}, "sk": {"S": f"link#pending#{kind}"}},
        )

    def save_link(self, citizen: str, kind: str, value: str, contact: str) -> None:
        """``value`` (its id ``contact``) is proven to be ``citizen``'s: the link both ways, in
        one transaction (a contact belongs to one account; :meth:`unlink` the old one first)."""
        at = clock.iso_ms()
        link = {"pk": citizen, "sk": f"link#{kind}", "kind": kind, "value": value}
        back = {"pk": contact, "sk": "linked_to", "citizen": citizen, "kind": kind}
        self.client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(link | {"contact": contact, "at": at}),
                    }
                },
                {"Put": {"TableName": self.table, "Item": to_item(back | {"at": at})}},
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": citizen}, "sk": {"S": f"link#pending#{kind}"}},
                    }
                },
            ]
        )

    def unlink(self, citizen: str, kind: str, contact: str) -> None:
        """Remove the link of ``kind`` from ``citizen`` and its way back from ``contact`` (unless
        the contact has since been linked to another account)."""
        client = self.client
        client.delete_item(
            TableName=self.table, Key={"pk": {"S": citizen}, "sk": {"S": f"link#{kind}"}}
        )
        # Already gone, or another account's now: then it stays.
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.delete_item(
                TableName=self.table,
                Key={"pk": {"S": contact}, "sk": {"S": "linked_to"}},
                ConditionExpression="citizen = :c",
                ExpressionAttributeValues={":c": {"S": citizen}},
            )

    def confirmed_at(self, contact: str) -> str | None:
        item = self._get(contact, "contact#confirmed")
        return str(item["at"]) if item else None

    # -- the verdict question a number was sent (its "Reply 1-5") ----------------------------
    def save_open_verdict(self, citizen: str, reference: str, language: str, ends: int) -> None:
        """The latest question sent to this number (replacing any earlier one)."""
        item = {"pk": citizen, "sk": "verdict#open", "reference": reference, "language": language}
        self.client.put_item(TableName=self.table, Item=to_item(item | {"expires_at": ends}))

    def open_verdict(self, citizen: str) -> dict[str, Any] | None:
        item = self._get(citizen, "verdict#open")
        if item is None or int(item.get("expires_at", 0)) <= int(time.time()):
            return None
        return item

    def clear_open_verdict(self, citizen: str) -> None:
        self.client.delete_item(
            TableName=self.table, Key={"pk": {"S": citizen}, "sk": {"S": "verdict#open"}}
        )

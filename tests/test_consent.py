"""The citizen store: consent ledger with its audit trail, preferences, conversations."""

from __future__ import annotations

import boto3

from citizenbus.local.runtime import LocalBus
from functions.domain.citizens.store import CitizenStore


def test_consent_is_a_current_state_with_an_append_only_ledger(bus: LocalBus) -> None:
    store = CitizenStore()
    assert store.consent("cit_a", "sms") is None
    store.set_consent("cit_a", "sms", False, "sms:STOP")
    store.set_consent("cit_a", "sms", True, "sms:START")
    store.set_consent("cit_a", "email", False, "app:preferences")
    assert store.consent("cit_a", "sms") is True
    assert store.consent("cit_a", "email") is False
    assert store.consent("cit_b", "sms") is None
    ledger = store.consent_ledger("cit_a", "sms")
    assert [(e["opted_in"], e["source"]) for e in ledger] == [
        (False, "sms:STOP"),
        (True, "sms:START"),
    ]
    assert all(e["citizen"] == "cit_a" and e["at"].endswith("Z") for e in ledger)
    # Ledger entries never expire; only conversations and message statuses do.
    items = boto3.client("dynamodb").scan(TableName="citizenbus-citizens")["Items"]
    assert not any("expires_at" in i for i in items if i["sk"]["S"].startswith("consent#"))


def test_preferences_and_conversations(bus: LocalBus) -> None:
    store = CitizenStore()
    assert store.preferences("cit_a") == {}
    store.save_preferences("cit_a", {"notify_by": "email", "language": "en"})
    assert store.preferences("cit_a")["notify_by"] == "email"
    store.save_conversation("cit_a", {"awaiting": "address"})
    store.save_conversation("cit_a", {"step": "x"}, key="call#CA1")
    assert store.get_conversation("cit_a") == {"awaiting": "address"}
    assert store.get_conversation("cit_a", "call#CA1") == {"step": "x"}
    store.clear_conversation("cit_a")
    assert store.get_conversation("cit_a") is None
    assert store.get_conversation("cit_a", "call#CA1") == {"step": "x"}

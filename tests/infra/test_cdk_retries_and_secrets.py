"""The template gives the webhook secrets their own key and the outbox redrive its reach."""

from __future__ import annotations

from typing import Any

from tests.support.cdk import Template


def statements(t: Template, function: str) -> list[dict[str, Any]]:
    _, props = t.function_of(function)
    role = props["Role"]["Fn::GetAtt"][0]
    found: list[dict[str, Any]] = []
    for policy in t.of_type("AWS::IAM::Policy").values():
        if any(r.get("Ref") == role for r in policy["Roles"]):
            found += policy["PolicyDocument"]["Statement"]
    return found


def actions_on(t: Template, function: str, logical: str) -> set[str]:
    """The actions a function's role may take on the resource ``logical`` (any attribute)."""
    out: set[str] = set()
    for statement in statements(t, function):
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if logical in repr(resources):
            action = statement["Action"]
            out |= set(action if isinstance(action, list) else [action])
    return out


def test_webhook_secrets_have_a_key_of_their_own_encrypt_for_the_api_decrypt_for_delivery(
    prod: Any,
) -> None:
    _, t = prod
    (key_id,) = [
        k
        for k, p in t.of_type("AWS::KMS::Key").items()
        if "webhook signing secrets" in p.get("Description", "")
    ]
    key = t.resources[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"  # without it no stored secret decrypts
    api, delivery = actions_on(t, "agency_api", key_id), actions_on(t, "webhook_delivery", key_id)
    assert "kms:Encrypt" in api and not any("Decrypt" in a for a in api)
    assert "kms:Decrypt" in delivery and not any("Encrypt" in a for a in delivery)
    for name in ("agency_api", "webhook_delivery"):
        env = t.function_of(name)[1]["Environment"]["Variables"]
        assert env["WEBHOOK_SECRETS_KEY_ID"] == {"Fn::GetAtt": [key_id, "Arn"]}
    for name in ("sms", "open311", "erasure", "redrive"):  # nobody else
        assert actions_on(t, name, key_id) == set()


def test_the_redrive_function_reads_the_outbox_dlq_and_stream_and_puts_events(prod: Any) -> None:
    _, t = prod
    (dlq,) = [
        k
        for k, q in t.of_type("AWS::SQS::Queue").items()
        if q["QueueName"] == "citizenbus-outbox-dlq"
    ]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions_on(t, "redrive", dlq)
    (outbox,) = [
        k
        for k, p in t.of_type("AWS::DynamoDB::Table").items()
        if str(p["TableName"]).endswith("-outbox")
    ]
    reach = actions_on(t, "redrive", outbox)
    assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:GetItem"} <= reach
    assert any(
        "events:PutEvents" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        for s in statements(t, "redrive")
    )

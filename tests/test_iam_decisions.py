"""The IAM enforcer keeps each role's decisions per (action, resource): a kept answer is the
one moto's evaluator gave, a denial stays a denial, and every call is still checked."""

from __future__ import annotations

from citizenbus.local import iam

TABLE = "arn:aws:dynamodb:eu-north-1:123456789012:table/citizenbus-requests"
OTHER = "arn:aws:dynamodb:eu-north-1:123456789012:table/citizenbus-citizens"


def _role() -> iam.Role:
    return iam.Role(
        "reader",
        [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [TABLE]}],
    )


def test_a_kept_decision_is_moto_s_and_a_denial_stays_denied() -> None:
    role = _role()
    for _ in range(3):
        assert role.allows("dynamodb:GetItem", TABLE)
        assert not role.allows("dynamodb:GetItem", OTHER)
        assert not role.allows("dynamodb:PutItem", TABLE)
    assert len(role.decided) == 3


def test_every_call_is_still_checked_and_a_new_role_decides_afresh() -> None:
    enforcer = iam.Enforcer({"reader": _role()})
    params = {"TableName": "citizenbus-citizens", "Key": {"id": {"S": "x"}}}
    for _ in range(2):
        assert "not authorized" in enforcer.check("reader", "dynamodb", "GetItem", params)
    assert enforcer.checked == 2
    assert len(enforcer.denied) == 2
    # a rewired function gets a new Role: nothing kept from the old one
    enforcer.roles["reader"] = iam.Role(
        "reader", [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [OTHER]}]
    )
    assert enforcer.check("reader", "dynamodb", "GetItem", params) == ""

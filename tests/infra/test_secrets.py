"""Every secret a function's code reads, its environment names and its role may read.

Finding 7 of issue 14: ``agency_api`` checks the agency key again (it never trusts the
authorizer) but got neither the agency-keys secret's ARN nor its grant, so in AWS it answered
401 to every agency. Finding 6: secret values sat in plain text in the Lambda configuration.
The secrets a function reads are found in its code (the files its asset carries: the bytecode
scan of ``infra/cdk/assets.py``), each a ``secrets.value("…")`` / ``secrets.arn_of("…")``
read in ``functions/platform/secrets.py``'s names.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from functions.platform.secrets import ARN_SETTINGS
from functions.topology import FUNCTIONS, Function
from infra.cdk import assets
from infra.cdk.secrets_construct import SECRETS

READ = re.compile(r"secrets\.(?:value|arn_of)\(\"(\w+)\"\)")
# secret name in the code → the secret's name suffix in the stack
SUFFIX = {"twilio_auth_token": "twilio-auth-token", "agency_keys": "agency-keys"}
SUFFIX |= {"open311_keys": "open311-keys", "pseudonym_key": "pseudonym-key"}


def secrets_read_by(handler: str) -> set[str]:
    names: set[str] = set()
    for path in assets.first_party_files(handler.rpartition(".")[0]):
        if path.suffix == ".py":
            text = path.read_text(encoding="utf-8")
            names |= set(READ.findall(text))
            if "secrets.open311_api_keys(" in text:
                names.add("open311_keys")
    return names


def role_reads(t: Any, role: str) -> set[str]:
    """The logical ids of the secrets the role may read (secretsmanager:GetSecretValue)."""
    found: set[str] = set()
    for policy in t.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} not in policy.get("Roles", []):
            continue
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            if "secretsmanager:GetSecretValue" in actions:
                found |= {r["Ref"] for r in resources if isinstance(r, dict) and "Ref" in r}
    return found


def test_the_code_reads_every_secret_through_its_arn() -> None:
    assert set(ARN_SETTINGS) == set(SUFFIX)
    arn_envs = {arn_env for _, _, arn_env, _ in SECRETS.values()}
    assert arn_envs == {f"{name.upper()}_SECRET_ARN" for name in SUFFIX}
    assert all(value_env is None for _, value_env, _, _ in SECRETS.values())
    assert secrets_read_by("functions.agency_api.handler.lambda_handler") >= {"agency_keys"}


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.name)
def test_every_secret_a_function_reads_is_in_its_environment_and_its_role(
    prod: tuple[Any, Any], fn: Function
) -> None:
    _, t = prod
    secrets = {
        name: next(
            logical
            for logical, p in t.of_type("AWS::SecretsManager::Secret").items()
            if p["Name"].endswith("/" + SUFFIX[name])
        )
        for name in SUFFIX
    }
    _, props = t.function_of(fn.name)
    env = props["Environment"]["Variables"]
    role = props["Role"]["Fn::GetAtt"][0]
    readable = role_reads(t, role)
    for name in secrets_read_by(fn.handler):
        assert env.get(f"{name.upper()}_SECRET_ARN") == {"Ref": secrets[name]}, (fn.name, name)
        assert secrets[name] in readable, (fn.name, name)


def test_no_secret_value_is_in_any_function_configuration(prod: tuple[Any, Any]) -> None:
    """Only ARNs: no dynamic reference, no value variable (``lambda:GetFunctionConfiguration``
    shows nothing that signs, authenticates or reverses a citizen id)."""
    _, t = prod
    for fn in FUNCTIONS:
        _, props = t.function_of(fn.name)
        env = props["Environment"]["Variables"]
        assert "resolve:secretsmanager" not in json.dumps(env), fn.name
        for name in ("TWILIO_AUTH_TOKEN", "PSEUDONYM_KEY", "CITIZENBUS_OPEN311_KEYS"):
            assert name not in env, (fn.name, name)
        assert "CITIZENBUS_AGENCY_KEYS" not in env, fn.name

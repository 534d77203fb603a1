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
from tests.support.cdk import Template

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


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(t: Any, role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in t.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy.get("Roles", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def role_reads(t: Any, role: str) -> set[str]:
    """The logical ids of the secrets the role may read (secretsmanager:GetSecretValue); a
    grant on anything but one secret's own ARN (a wildcard, a name pattern) fails here."""
    found: set[str] = set()
    for statement in role_statements(t, role):
        if statement["Effect"] != "Allow":
            continue
        actions = _listed(statement["Action"])
        if not any(
            a in ("secretsmanager:GetSecretValue", "secretsmanager:*", "*") for a in actions
        ):
            continue
        for resource in _listed(statement["Resource"]):
            assert isinstance(resource, dict) and set(resource) == {"Ref"}, (role, resource)
            assert t.resources[resource["Ref"]]["Type"] == "AWS::SecretsManager::Secret"
            found.add(resource["Ref"])
    return found


def role_decrypts(t: Any, role: str) -> set[str]:
    """The logical ids of the KMS keys the role may decrypt with."""
    return {
        resource["Fn::GetAtt"][0]
        for statement in role_statements(t, role)
        if statement["Effect"] == "Allow" and "kms:Decrypt" in _listed(statement["Action"])
        for resource in _listed(statement["Resource"])
        if isinstance(resource, dict) and "Fn::GetAtt" in resource
    }


def test_the_code_reads_every_secret_through_its_arn() -> None:
    assert set(ARN_SETTINGS) == set(SUFFIX)
    arn_envs = {arn_env for _, _, arn_env, _ in SECRETS.values()}
    assert arn_envs == {f"{name.upper()}_SECRET_ARN" for name in SUFFIX}
    assert all(value_env is None for _, value_env, _, _ in SECRETS.values())
    assert secrets_read_by("functions.agency_api.handler.lambda_handler") >= {"agency_keys"}


def can_decrypt(t: Any, role: str, secret: str) -> bool:
    """Whether the role can decrypt the secret's value: always with the AWS-managed key (what
    the secrets use today); with a customer-managed key only by kms:Decrypt on that key."""
    key = t.resources[secret]["Properties"].get("KmsKeyId")
    return key is None or _target(key) in role_decrypts(t, role)


def test_a_secret_under_a_customer_key_needs_kms_decrypt_on_that_key() -> None:
    def template(decrypt_on: str | None) -> Template:
        statements = [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "S"}}
        ]
        if decrypt_on:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": {"Fn::GetAtt": [decrypt_on, "Arn"]},
                }
            )
        return Template(
            {
                "Resources": {
                    "S": {
                        "Type": "AWS::SecretsManager::Secret",
                        "Properties": {"KmsKeyId": {"Fn::GetAtt": ["K", "Arn"]}},
                    },
                    "K": {"Type": "AWS::KMS::Key", "Properties": {}},
                    "Other": {"Type": "AWS::KMS::Key", "Properties": {}},
                    "P": {
                        "Type": "AWS::IAM::Policy",
                        "Properties": {
                            "Roles": [{"Ref": "R"}],
                            "PolicyDocument": {"Statement": statements},
                        },
                    },
                }
            }
        )

    assert role_reads(template(None), "R") == {"S"}
    assert not can_decrypt(template(None), "R", "S")
    assert not can_decrypt(template("Other"), "R", "S")
    assert can_decrypt(template("K"), "R", "S")


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.name)
def test_every_secret_a_function_reads_is_in_its_environment_and_its_role(
    each_env: tuple[str, Any], fn: Function
) -> None:
    """The ARN in its ``*_SECRET_ARN`` variable, GetSecretValue on exactly that secret (and no
    other), kms:Decrypt on the secret's key if it has a customer-managed one."""
    env_name, t = each_env
    all_secrets = t.of_type("AWS::SecretsManager::Secret")
    secrets = {
        name: next(
            logical for logical, p in all_secrets.items() if p["Name"].endswith("/" + SUFFIX[name])
        )
        for name in SUFFIX
    }
    _, props = t.function_of(fn.name)
    env = props["Environment"]["Variables"]
    role = props["Role"]["Fn::GetAtt"][0]
    readable = role_reads(t, role)
    reads = secrets_read_by(fn.handler)
    for name in reads:
        assert env.get(f"{name.upper()}_SECRET_ARN") == {"Ref": secrets[name]}, (env_name, name)
        assert secrets[name] in readable, (env_name, fn.name, name)
        assert can_decrypt(t, role, secrets[name]), (env_name, fn.name, name)
    # least privilege: no secret the code does not read (nor its ARN)
    assert readable <= {secrets[name] for name in reads}, (env_name, fn.name)
    arn_variables = {v for v in env if v.endswith("_SECRET_ARN")}
    assert arn_variables == {f"{name.upper()}_SECRET_ARN" for name in reads}, (env_name, fn.name)


# A variable named like a credential may hold only a reference to where the value is kept.
CREDENTIAL_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|_KEYS?(_|$)")
# A literal that looks like a credential: a long run of letters and digits, or a known prefix.
CREDENTIAL_VALUE = re.compile(
    r"[A-Za-z0-9+/=_-]*(?=[A-Za-z0-9+/=_-]*[0-9])(?=[A-Za-z0-9+/=_-]*[A-Za-z])[A-Za-z0-9+/=_-]{24,}"
    r"|-----BEGIN|AKIA[0-9A-Z]{16}|sk_live_|xox[bp]-"
)


def test_no_secret_value_is_in_any_function_configuration(
    each_env: tuple[str, Any],
) -> None:
    """Only ARNs: no dynamic reference, no value variable, no literal that looks like a key
    (``lambda:GetFunctionConfiguration`` shows nothing that signs, authenticates or reverses a
    citizen id), in every environment."""
    env_name, t = each_env
    for fn in FUNCTIONS:
        _, props = t.function_of(fn.name)
        env = props["Environment"]["Variables"]
        assert "resolve:secretsmanager" not in json.dumps(env), fn.name
        assert "resolve:ssm-secure" not in json.dumps(env), fn.name
        for name in ("TWILIO_AUTH_TOKEN", "PSEUDONYM_KEY", "CITIZENBUS_OPEN311_KEYS"):
            assert name not in env, (env_name, fn.name, name)
        assert "CITIZENBUS_AGENCY_KEYS" not in env, fn.name
        for variable, value in env.items():
            if CREDENTIAL_NAME.search(variable):
                kind = t.resources[_target(value)]["Type"]
                assert kind in ("AWS::SecretsManager::Secret", "AWS::KMS::Key"), (
                    env_name,
                    fn.name,
                    variable,
                )
            if isinstance(value, str):
                assert not CREDENTIAL_VALUE.search(value), (env_name, fn.name, variable)


def _target(value: Any) -> str:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names (anything else is not a reference)."""
    assert isinstance(value, dict), value
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def test_the_credential_patterns_catch_what_they_are_for() -> None:
    assert CREDENTIAL_NAME.search("TWILIO_AUTH_TOKEN")
    assert CREDENTIAL_NAME.search("WEBHOOK_SECRETS_KEY_ID")
    assert CREDENTIAL_NAME.search("CITIZENBUS_AGENCY_KEYS")
    assert not CREDENTIAL_NAME.search("REQUESTS_TABLE")
    assert CREDENTIAL_VALUE.search("0f3c9a7e5b1d4c2a8e6f0b9d7c5a3e1f")  # a Twilio token's shape
    assert CREDENTIAL_VALUE.search("AKIAABCDEFGHIJKLMNOP")
    for harmless in ("citizenbus-dev-agency_audit", "CitizenBus", "false", "INFO", "+46701234567"):
        assert not CREDENTIAL_VALUE.search(harmless), harmless

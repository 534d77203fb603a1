"""Secrets Manager: Twilio's auth token, the agencies' keys, the Open311 keys, the pseudonym key."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.cdk.constants import EnvSettings
from infra.cdk.nag import REASONS, acknowledge

# permission name -> (secret suffix, env variable with the value, env variable with the ARN,
# description). A value reaches the function as a CloudFormation dynamic reference resolved
# at deploy time (never in the template); functions that read the secret at run time get
# only its ARN (no value env), e.g. the agency keys (a JSON object {"agency": "key"}).
SECRETS: dict[str, tuple[str, str | None, str, str]] = {
    "secret:twilio": (
        "twilio-auth-token",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_AUTH_TOKEN_SECRET_ARN",
        "Twilio auth token",
    ),
    "secret:agency-keys": (
        "agency-keys",
        None,
        "AGENCY_KEYS_SECRET_ARN",
        'the agencies\' bearer keys, {"agency": "key", ...}',
    ),
    "secret:open311-keys": (
        "open311-keys",
        "CITIZENBUS_OPEN311_KEYS",
        "OPEN311_KEYS_SECRET_ARN",
        "comma-separated Open311 api_key values",
    ),
    "secret:pseudonym": (
        "pseudonym-key",
        "PSEUDONYM_KEY",
        "PSEUDONYM_KEY_SECRET_ARN",
        "HMAC key of citizen ids",
    ),
}


class SecretsConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: EnvSettings) -> None:
        super().__init__(scope, construct_id)
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for permission, (suffix, _value_env, _arn_env, description) in SECRETS.items():
            self.secrets[permission] = secretsmanager.Secret(
                self,
                suffix,
                secret_name=f"{settings.prefix}/{suffix}",
                description=f"citizenbus {description} (set after the first deploy)",
                # A random placeholder: nothing works with it until an operator sets the real
                # value, and nothing in the template reveals it. The pseudonym key is random
                # for good and must never change (citizen ids derive from it).
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=48
                ),
                removal_policy=RemovalPolicy.RETAIN
                if settings.retain_data
                else RemovalPolicy.DESTROY,
            )
            acknowledge(self.secrets[permission], "AwsSolutions-SMG4", REASONS["rotation"])

    @staticmethod
    def env_names(permission: str) -> tuple[str | None, str]:
        """The env variables for the secret's value (or None) and for its ARN."""
        _, value_env, arn_env, _ = SECRETS[permission]
        return value_env, arn_env

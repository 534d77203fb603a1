"""Secrets Manager: Twilio's auth token, the agencies' keys, the Open311 keys, the pseudonym key."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.cdk.constants import EnvSettings
from infra.cdk.nag import REASONS, acknowledge

# permission name -> (secret suffix, env variable with the value (always None: no value is
# ever in a function's configuration), env variable with the ARN, description). Functions read
# the value at run time (functions/platform/secrets.py, Powertools parameters with a max age),
# so `lambda:GetFunctionConfiguration` shows no secret and a rotation needs no redeploy.
SECRETS: dict[str, tuple[str, str | None, str, str]] = {
    "secret:twilio": (
        "twilio-auth-token",
        None,
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
        None,
        "OPEN311_KEYS_SECRET_ARN",
        "comma-separated Open311 api_key values",
    ),
    "secret:pseudonym": (
        "pseudonym-key",
        None,
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

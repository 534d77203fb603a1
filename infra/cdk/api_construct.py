"""The HTTP API: every route of functions/topology.py with its authorizer, throttled and logged."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions import topology
from infra.cdk.constants import EnvSettings
from infra.cdk.functions_construct import agency_authorizer_name
from infra.cdk.nag import REASONS, acknowledge

# What API Gateway writes per request: no headers, no query strings, no bodies (they carry
# phone numbers and tokens), only what an operator needs to follow a request.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latency": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
        "requestTime": "$context.requestTime",
    }
)


class ApiConstruct(Construct):
    """Created before the functions (they need its URL, e.g. as the base Twilio signs);
    ``add_routes`` wires the topology's routes once the functions exist."""

    def __init__(self, scope: Construct, construct_id: str, settings: EnvSettings) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.api = apigw.HttpApi(
            self,
            "HttpApi",
            api_name=f"{settings.prefix}-api",
            description="citizenbus: citizen channels, agency API, open data",
            create_default_stage=False,
        )
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=settings.throttle_rate, burst_limit=settings.throttle_burst
            ),
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        self.url = self.api.api_endpoint
        self.user_pool: cognito.UserPool | None = None
        self.jwt_authorizer = self._jwt_authorizer()
        CfnOutput(self, "Url", value=self.url, description="base URL of the bus")

    def _jwt_authorizer(self) -> apigw.IHttpRouteAuthorizer:
        settings = self.settings
        if settings.jwt_issuer:
            return authorizers.HttpJwtAuthorizer(
                "AppJwt",
                settings.jwt_issuer,
                jwt_audience=list(settings.jwt_audience),
                identity_source=["$request.header.Authorization"],
            )
        self.user_pool = cognito.UserPool(
            self,
            "Citizens",
            user_pool_name=f"{settings.prefix}-citizens",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY,
            # The level of assurance of a federated e-ID sign-in (BankID, Freja over OIDC): the
            # identity provider's `acr` is mapped onto it and reaches the app API as the
            # `custom:acr` claim of the ID token (docs/citizen-channels.md, "Assurance levels").
            custom_attributes={"acr": cognito.StringAttribute(mutable=True, max_len=256)},
        )
        acknowledge(self.user_pool, "AwsSolutions-COG2", REASONS["mfa"])
        client = self.user_pool.add_client(
            "AppClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
        )
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=client.user_pool_client_id)
        return authorizers.HttpUserPoolAuthorizer(
            "AppJwt", self.user_pool, user_pool_clients=[client]
        )

    def add_routes(self, functions: Mapping[str, lambda_.IFunction]) -> dict[str, str]:
        """One route per topology route; returns route key -> auth kind (for tests/reports)."""
        agency_authorizer: apigw.IHttpRouteAuthorizer | None = None
        authorizer_name = agency_authorizer_name()
        if authorizer_name is not None and authorizer_name in functions:
            agency_authorizer = authorizers.HttpLambdaAuthorizer(
                "AgencyKey",
                functions[authorizer_name],
                response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
                identity_source=["$request.header.Authorization"],
                results_cache_ttl=Duration.minutes(5),
            )
        wired: dict[str, str] = {}
        throttles: dict[str, dict[str, int]] = {}  # CloudFormation's RouteSettings, by route key
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        for fn in topology.FUNCTIONS:
            if not fn.routes:
                continue
            integration = integrations.HttpLambdaIntegration(
                f"Integration-{fn.name}", functions[fn.name]
            )
            for route in fn.routes:
                if route.path != "/" and route.path.endswith("/"):
                    # HTTP API route paths cannot end with "/": the same page is served at the
                    # path without it (e.g. /open-data for /open-data/).
                    continue
                authorizer: apigw.IHttpRouteAuthorizer | None
                if route.auth == "jwt":
                    authorizer = self.jwt_authorizer
                elif route.auth == "agency":
                    if agency_authorizer is None:  # never deploy an agency route unprotected
                        raise ValueError(
                            f"{route.method} {route.path} needs the {authorizer_name} function "
                            '(topology.AUTHORIZERS["agency"])'
                        )
                    authorizer = agency_authorizer
                else:
                    authorizer = None
                added = self.api.add_routes(
                    path=route.path,
                    methods=[apigw.HttpMethod(route.method)],
                    integration=integration,
                    authorizer=authorizer,
                )
                if authorizer is None:
                    for resource in added:
                        acknowledge(resource, "AwsSolutions-APIG4", REASONS["open_route"])
                for resource in added:  # the stage's route settings name existing routes
                    cfn_stage.node.add_dependency(resource)
                cls = topology.throttle_class(route)
                rate, burst = topology.THROTTLES[cls]
                if self.settings.deadline_day:  # -c deadline_day=true: the day's classes
                    rate, burst = topology.DEADLINE_DAY_THROTTLES.get(cls, (rate, burst))
                throttles[f"{route.method} {route.path}"] = {
                    "ThrottlingRateLimit": rate,
                    "ThrottlingBurstLimit": burst,
                }
                wired[f"{route.method} {route.path}"] = route.auth
        # Per-route throttles (topology.THROTTLES): one client cannot starve another route.
        cfn_stage.route_settings = throttles
        return wired

"""Alarms on DLQ depth, function errors and throttles, API 5xx; one dashboard."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.constants import EnvSettings

PERIOD = Duration.minutes(5)


class MonitoringConstruct(Construct):
    """Any message in any DLQ is an alarm: it is a request, an event or a delivery that
    waits for an operator (redrive). Errors and throttles alarm per function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: EnvSettings,
        functions: dict[str, lambda_.Function],
        dlqs: dict[str, sqs.Queue],
        api: apigw.HttpApi,
    ) -> None:
        super().__init__(scope, construct_id)
        # A key of its own: CloudWatch must be allowed to use it to publish alarms, which
        # the tables' key (personal data) should not allow.
        alarm_key = kms.Key(
            self,
            "AlarmsKey",
            alias=f"alias/{settings.prefix}-alarms",
            description="citizenbus alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        alarm_key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"),
            "kms:Decrypt",
            "kms:GenerateDataKey*",
        )
        self.topic = sns.Topic(
            self,
            "Alarms",
            topic_name=f"{settings.prefix}-alarms",
            master_key=alarm_key,
            enforce_ssl=True,
        )
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(name: str, metric: cloudwatch.IMetric, what: str) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                name,
                alarm_name=f"{settings.prefix}-{name}",
                alarm_description=what,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)
            return created

        for name, dlq in sorted(dlqs.items()):
            alarm(
                f"dlq-{name}",
                dlq.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic="Maximum"
                ),
                f"messages wait in {name} for redrive",
            )
        for name, function in sorted(functions.items()):
            alarm(f"errors-{name}", function.metric_errors(period=PERIOD), f"{name} failed")
            alarm(
                f"throttles-{name}", function.metric_throttles(period=PERIOD), f"{name} throttled"
            )
        alarm("api-5xx", api.metric_server_error(period=PERIOD), "the API answered 5xx")

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{settings.prefix}")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests, 4xx, 5xx",
                left=[
                    api.metric_count(period=PERIOD),
                    api.metric_client_error(period=PERIOD),
                    api.metric_server_error(period=PERIOD),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency", left=[api.metric_latency(period=PERIOD)], width=12
            ),
            cloudwatch.GraphWidget(
                title="Function errors",
                left=[f.metric_errors(period=PERIOD) for f in functions.values()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function throttles",
                left=[f.metric_throttles(period=PERIOD) for f in functions.values()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues",
                left=[
                    q.metric_approximate_number_of_messages_visible(period=PERIOD)
                    for q in dlqs.values()
                ],
                width=24,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        )
        dashboard.add_widgets(*journey_widgets())


# The journey KPIs (issue 18), per service and channel: the notifier measures each request's
# time to first response and to resolution as it happens (EMF, dimensions service and channel);
# the hourly open-data export publishes the month's shares, followers and satisfaction.
NAMESPACE = "CitizenBus"
DAY = Duration.days(1)


def _search(metric: str, statistic: str, label: str) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression=(
            f"SEARCH('{{{NAMESPACE},channel,service}} MetricName=\"{metric}\"', "
            f"'{statistic}', {int(DAY.to_seconds())})"
        ),
        label=label,
        period=DAY,
        using_metrics={},
    )


def journey_widgets() -> list[cloudwatch.IWidget]:
    """Graphs of the journey KPIs by service and channel (search expressions: a new service or
    channel shows up without a deploy)."""
    graphs = (
        ("Time to first response (s), median", "TimeToFirstResponse", "p50"),
        ("Time to first response (s), p90", "TimeToFirstResponse", "p90"),
        ("Time to resolution (s), median", "TimeToResolution", "p50"),
        ("Time to resolution (s), p90", "TimeToResolution", "p90"),
        ("Share resolved within the SLA (%), this month", "JourneyWithinSlaShare", "Maximum"),
        ("Reopen rate (%), this month", "JourneyReopenRate", "Maximum"),
        ("Followers (me too), this month", "JourneyFollowers", "Maximum"),
        ("Satisfaction (mean of 1-5), this month", "JourneySatisfaction", "Maximum"),
    )
    widgets: list[cloudwatch.IWidget] = [
        cloudwatch.TextWidget(
            markdown="## After filing: the journey by service and channel "
            "(the same figures as open data's journey.csv)",
            width=24,
            height=1,
        )
    ]
    widgets += [
        cloudwatch.GraphWidget(title=title, left=[_search(metric, stat, title)], width=12)
        for title, metric, stat in graphs
    ]
    return widgets

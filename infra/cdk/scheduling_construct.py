"""EventBridge Scheduler: every function with ``schedule_minutes`` runs at that rate."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from cdk_nag import RegexAppliesTo
from constructs import Construct

from functions import topology
from infra.cdk.constants import EnvSettings
from infra.cdk.nag import REASONS, acknowledge
from infra.cdk.queues_construct import QueuesConstruct


class SchedulingConstruct(Construct):
    """SLA checks and open-data exports. A run the target refuses lands in a DLQ."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: EnvSettings,
        functions: dict[str, lambda_.Function],
        queues: QueuesConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        self.schedules: dict[str, scheduler.Schedule] = {}
        scheduled = [fn for fn in topology.FUNCTIONS if fn.schedule_minutes]
        if not scheduled:
            return
        group = scheduler.ScheduleGroup(
            self, "Group", schedule_group_name=f"{settings.prefix}-schedules"
        )
        dlq = queues.dead_letter("citizenbus-schedules-dlq")
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler: invokes the scheduled functions only",
        )
        for fn in scheduled:
            assert fn.schedule_minutes is not None
            self.schedules[fn.name] = scheduler.Schedule(
                self,
                f"Schedule-{fn.name}",
                schedule_name=f"{settings.prefix}-{fn.name}",
                description=f"runs {fn.name} every {fn.schedule_minutes} minutes",
                schedule_group=group,
                schedule=scheduler.ScheduleExpression.rate(Duration.minutes(fn.schedule_minutes)),
                target=scheduler_targets.LambdaInvoke(
                    functions[fn.name],
                    role=role,
                    dead_letter_queue=dlq,
                    retry_attempts=3,
                    max_event_age=Duration.hours(1),
                ),
            )
        # after the schedules: their grants create the policy this applies to
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            REASONS["invoke"],
            [RegexAppliesTo(regex="/^Resource::<FunctionsFn.+\\.Arn>:\\*$/g")],
        )

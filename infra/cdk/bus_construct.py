"""The custom event bus, its archive, and one rule per agency from routing.py."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from functions import topology
from functions.domain.agencies.routing import (
    agency_pattern,
    agency_queue,
    agency_rule_name,
    function_queue,
    subscription_pattern,
)
from infra.cdk.constants import EnvSettings
from infra.cdk.queues_construct import QueuesConstruct, dlq_name
from schemas.catalog import Catalog

TARGET_RETRIES = 185  # EventBridge's maximum: an agency queue outage loses nothing


def _event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """routing.py's pattern, unchanged, in CDK's form (tests compare the rendered JSON)."""
    known = {"source", "detail-type", "detail"}
    if set(pattern) - known:
        raise ValueError(f"routing pattern has keys CDK is not told about: {set(pattern) - known}")
    return events.EventPattern(
        source=pattern.get("source"),
        detail_type=pattern.get("detail-type"),
        detail=pattern.get("detail"),
    )


def _queue_target(queues: QueuesConstruct, name: str) -> targets.SqsQueue:
    """A rule's SQS target with the queue's DLQ for what EventBridge cannot deliver."""
    return targets.SqsQueue(
        queues.queue(name),
        dead_letter_queue=queues.dead_letter(dlq_name(name)),
        retry_attempts=TARGET_RETRIES,
        max_event_age=Duration.hours(24),
    )


def agency_target_queues(agency: str) -> list[str]:
    """The queues an agency's rule fills: its own queue, and every per-agency queue a function
    of the topology consumes (e.g. ``citizenbus-delivery-{agency}`` for webhooks), as the
    local bus adds them as further targets of the same rule."""
    names = [agency_queue(agency)]
    for fn in topology.FUNCTIONS:
        for queue in fn.queues:
            if "{agency}" in queue and queue.format(agency=agency) not in names:
                names.append(queue.format(agency=agency))
    return names


class BusConstruct(Construct):
    """Events leave the outbox onto this bus; each agency's rule copies the events of the
    services it owns (from the catalog) into its SQS queue, with that queue's DLQ for what
    EventBridge cannot deliver. The archive allows replay after an agency-side loss."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: EnvSettings,
        catalog: Catalog,
        queues: QueuesConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=settings.physical("citizenbus"))
        self.bus.archive(
            "Archive",
            archive_name=f"{settings.prefix}-archive",
            description="every event on the citizen bus, for replay",
            event_pattern=events.EventPattern(account=[self.bus.env.account]),
            retention=Duration.days(settings.archive_days),
        )
        self.rules: dict[str, events.Rule] = {}
        for agency in catalog.agency_ids():
            rule = events.Rule(
                self,
                f"Rule-{agency}",
                rule_name=settings.physical(agency_rule_name(agency)),
                description=f"request events of the services of agency {agency}",
                event_bus=self.bus,
                event_pattern=_event_pattern(agency_pattern(catalog, agency)),
            )
            for name in agency_target_queues(agency):
                rule.add_target(_queue_target(queues, name))
            self.rules[agency] = rule
        # Functions that subscribe to event types (the notifier): a rule into their own queue,
        # as the local bus provisions it (citizenbus/local/aws.py).
        for fn in topology.FUNCTIONS:
            if not fn.subscribes:
                continue
            name = function_queue(fn.name)
            rule = events.Rule(
                self,
                f"Rule-{fn.name}",
                rule_name=settings.physical(f"citizenbus-to-{fn.name.replace('_', '-')}"),
                description=f"request events for the {fn.name} function",
                event_bus=self.bus,
                event_pattern=_event_pattern(subscription_pattern(fn.subscribes)),
            )
            rule.add_target(_queue_target(queues, name))
            self.rules[fn.name] = rule

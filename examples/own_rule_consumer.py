"""An agency's own EventBridge rule on the ``citizenbus`` bus, delivering into its own queue.

    # locally, against citizenbus serve (its banner prints these):
    export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_DEFAULT_REGION=eu-north-1
    export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
    python examples/own_rule_consumer.py --agency streets

    # in AWS: the same command with credentials allowed to put rules on the bus.

Plain boto3 (it honours ``AWS_ENDPOINT_URL``). It creates, idempotently, a queue
``{name}`` with a dead-letter queue ``{name}-dlq`` and a queue policy that lets only this
rule send to it (what EventBridge needs in AWS), a rule ``{name}`` on the bus matching the
agency's request events, and the queue as the rule's target; then it long-polls the queue,
checks each CloudEvent with the CloudEvents SDK, prints its reference and deletes the message.
``--cleanup`` removes the rule, target and queues on the way out.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import boto3
from cloudevents.core.formats.json import JSONFormat

BUS = "citizenbus"
EVENT_TYPES = (
    "org.citizenbus.request.submitted.v1",
    "org.citizenbus.request.status_changed.v1",
    "org.citizenbus.request.sla_breached.v1",
    "org.citizenbus.request.supported.v1",
)


def pattern(agency: str, types: list[str]) -> dict[str, Any]:
    """The rule's event pattern: the CloudEvent is the EventBridge ``detail``."""
    return {
        "source": ["org.citizenbus"],
        "detail-type": types,
        "detail": {"data": {"agency": [agency]}},
    }


def create_queue(sqs: Any, name: str, rule_arn: str) -> tuple[str, str]:
    """The queue (URL, ARN), with a DLQ after 5 receives and a policy for the rule only."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = _arn(sqs, dlq_url)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = _arn(sqs, url)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"Policy": json.dumps(policy), "RedrivePolicy": json.dumps(redrive)},
    )
    return url, arn


def _arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def subscribe(name: str, agency: str, types: list[str]) -> str:
    """Queue, rule and target (each call may be repeated); the queue's URL."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    rule_arn = events.put_rule(
        Name=name,
        EventBusName=BUS,
        EventPattern=json.dumps(pattern(agency, types)),
        State="ENABLED",
        Description=f"{agency}: request events into {name}",
    )["RuleArn"]
    url, arn = create_queue(sqs, name, rule_arn)
    failed = events.put_targets(
        Rule=name, EventBusName=BUS, Targets=[{"Id": "own-queue", "Arn": arn}]
    )["FailedEntryCount"]
    if failed:
        raise RuntimeError(f"the rule {name} did not take its target")
    return str(url)


def unsubscribe(name: str, url: str) -> None:
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.remove_targets(Rule=name, EventBusName=BUS, Ids=["own-queue"])
    events.delete_rule(Name=name, EventBusName=BUS)
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"])


def consume(url: str, count: int | None = None, wait: int = 20) -> int:
    """Print the reference of each CloudEvent; stop after ``count`` (forever if None)."""
    sqs = boto3.client("sqs")
    handled = 0
    while count is None or handled < count:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        ).get("Messages", []):
            try:
                detail = json.loads(message["Body"])["detail"]
                event = JSONFormat().read(None, json.dumps(detail).encode())
            except Exception as exc:  # left on the queue: retried, then kept by the DLQ
                print(f"not a CloudEvent, left for the DLQ: {exc}", file=sys.stderr, flush=True)
                continue
            print(f"{event.get_type()} {event.get_subject()} (id {event.get_id()})", flush=True)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agency", required=True, help="your agency id, e.g. streets")
    parser.add_argument("--name", help="rule and queue name (default: <agency>-own-rule)")
    parser.add_argument(
        "--type",
        dest="types",
        action="append",
        choices=EVENT_TYPES,
        help="an event type to take (repeat; default: all four)",
    )
    parser.add_argument("--count", type=int, help="stop after this many events (default: never)")
    parser.add_argument("--wait", type=int, default=20, help="long-poll seconds (max 20)")
    parser.add_argument("--cleanup", action="store_true", help="remove rule and queues at exit")
    args = parser.parse_args(argv)
    name = args.name or f"{args.agency}-own-rule"
    url = subscribe(name, args.agency, args.types or list(EVENT_TYPES))
    print(f"rule {name} on bus {BUS} -> {url}; listening", flush=True)
    try:
        consume(url, args.count, args.wait)
    except KeyboardInterrupt:
        pass
    finally:
        if args.cleanup:
            unsubscribe(name, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""An agency's SQS consumer: long-polls the agency's queue on the bus and takes each event.

    # locally, against citizenbus serve (its banner prints these):
    export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_DEFAULT_REGION=eu-north-1
    export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
    python examples/sqs_consumer.py --agency streets \\
        --api http://127.0.0.1:8000 --key local-streets-key

    # in AWS: the same command with your own credentials and no AWS_ENDPOINT_URL.

Plain boto3: it honours ``AWS_ENDPOINT_URL``, so the script is the same for both. The queue
``citizenbus-agency-{agency}`` is filled by the bus's rule for the agency; each message is
the EventBridge event, the CloudEvent is its ``detail``. Every CloudEvent is checked with the
CloudEvents SDK; its reference (``subject``) is printed, and with ``--key`` a new request is
moved to ``in_progress`` through the agency API. A message is deleted only once it has been
handled: one that fails (not a CloudEvent, the API down) comes back after the visibility
timeout and, after a few receives, waits in ``citizenbus-agency-{agency}-dlq``. Handle an
event idempotently: SQS may deliver it twice (dedupe on the CloudEvent ``id``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import urllib.error
import urllib.request
from typing import Any

import boto3
from cloudevents.core.formats.json import JSONFormat

SUBMITTED = "org.citizenbus.request.submitted.v1"


def cloud_event(body: str) -> Any:
    """The CloudEvent in an SQS message from the bus (the EventBridge event's ``detail``);
    ``ValueError`` when it is not one."""
    try:
        detail = json.loads(body)["detail"]
        event = JSONFormat().read(None, json.dumps(detail).encode())
    except Exception as exc:  # not JSON, no detail, or not a valid CloudEvent
        raise ValueError(f"not a citizenbus CloudEvent: {exc}") from exc
    if not str(event.get_type()).startswith("org.citizenbus.") or not event.get_subject():
        raise ValueError(f"not a citizenbus request event: {event.get_type()}")
    return event


def post_status(api: str, key: str, reference: str, status: str, note: str) -> None:
    """One status change through the agency API, idempotent on the event it answers."""
    request = urllib.request.Request(  # noqa: S310 - the bus's agency API
        f"{api.rstrip('/')}/agency/v1/requests/{reference}/status",
        data=json.dumps({"status": status, "note": note}).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"sqs-consumer-{reference}-{status}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
    except urllib.error.HTTPError as err:
        if err.code != 409:  # 409: the request has moved on already (another worker, a person)
            raise


def consume(
    queue_url: str,
    api: str | None = None,
    key: str | None = None,
    count: int | None = None,
    wait: int = 20,
) -> int:
    """Take events from ``queue_url`` until ``count`` were handled (forever if None)."""
    sqs = boto3.client("sqs")
    handled = 0
    while count is None or handled < count:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        ).get("Messages", [])
        for message in messages:
            try:
                event = cloud_event(message["Body"])
                print(f"{event.get_type()} {event.get_subject()} (id {event.get_id()})", flush=True)
                if api and key and event.get_type() == SUBMITTED:
                    post_status(api, key, event.get_subject(), "in_progress", "We are on it.")
            except Exception as exc:  # left on the queue: retried, then kept by the DLQ
                print(f"not handled, left for a retry: {exc}", file=sys.stderr, flush=True)
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agency", required=True, help="your agency id, e.g. streets")
    parser.add_argument("--api", help="the bus's base URL, to post status changes back")
    parser.add_argument("--key", help="your agency key (with --api)")
    parser.add_argument("--count", type=int, help="stop after this many events (default: never)")
    parser.add_argument("--wait", type=int, default=20, help="long-poll seconds (max 20)")
    args = parser.parse_args(argv)
    url = boto3.client("sqs").get_queue_url(QueueName=f"citizenbus-agency-{args.agency}")
    print(f"listening on {url['QueueUrl']}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        consume(url["QueueUrl"], args.api, args.key, args.count, args.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())

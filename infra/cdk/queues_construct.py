"""Every SQS queue of the bus, each with its dead-letter queue, created on first use."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.constants import MAX_RECEIVES_BY_PREFIX, EnvSettings
from infra.cdk.nag import REASONS, acknowledge

MAX_RECEIVES = 5  # as the local bus's redrive policy


def dlq_name(queue: str) -> str:
    return f"{queue}-dlq"


def max_receives(queue: str) -> int:
    """Receives before a message moves to the DLQ, as the local bus sets them."""
    for prefix, count in MAX_RECEIVES_BY_PREFIX.items():
        if queue.startswith(prefix):
            return count
    return MAX_RECEIVES


class QueuesConstruct(Construct):
    """Queues by their local name. SQS-managed encryption (SSE-SQS): the messages are the
    thin CloudEvents without personal data, and EventBridge can deliver to SSE-SQS queues
    without a key policy per rule; every queue refuses non-TLS access."""

    def __init__(self, scope: Construct, construct_id: str, settings: EnvSettings) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.queues: dict[str, sqs.Queue] = {}
        self.dlqs: dict[str, sqs.Queue] = {}  # by the local name of the queue they serve
        # a consumer must not see a message again while its function still runs
        self.visibility = Duration.seconds(6 * settings.lambda_timeout_s)

    def _queue(self, name: str, **kwargs: object) -> sqs.Queue:
        return sqs.Queue(
            self,
            name,
            queue_name=self.settings.physical(name),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            **kwargs,  # type: ignore[arg-type]
        )

    def dead_letter(self, name: str) -> sqs.Queue:
        """A standalone dead-letter queue (e.g. a stream's on-failure destination)."""
        if name not in self.dlqs:
            self.dlqs[name] = self._queue(name)
            acknowledge(self.dlqs[name], "AwsSolutions-SQS3", REASONS["dlq"])
        return self.dlqs[name]

    def queue(self, name: str) -> sqs.Queue:
        """The queue ``name`` with a DLQ ``name-dlq`` after 5 receives."""
        if name not in self.queues:
            dlq = self.dead_letter(dlq_name(name))
            self.queues[name] = self._queue(
                name,
                visibility_timeout=self.visibility,
                dead_letter_queue=sqs.DeadLetterQueue(
                    max_receive_count=max_receives(name), queue=dlq
                ),
            )
        return self.queues[name]

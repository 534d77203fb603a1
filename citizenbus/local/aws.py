"""Creating every table, bus, rule and queue of the bus in (moto's) AWS.

Reads the same topology and catalog as the CDK app.
"""

from __future__ import annotations

import json
import os
from typing import Any

from functions.domain.agencies.routing import (
    DELIVERY_MAX_RECEIVES,
    agency_dlq,
    agency_pattern,
    agency_queue,
    agency_rule_name,
    delivery_dlq,
    delivery_queue,
    function_dlq,
    function_queue,
    subscription_pattern,
)
from functions.platform import aws
from functions.platform.settings import get_settings
from functions.topology import BUCKETS, FUNCTIONS, TABLES, Bucket, Table
from schemas.catalog import Catalog

LOCAL_PREFIX = "citizenbus"


def table_name(table: Table) -> str:
    return f"{LOCAL_PREFIX}-{table.name}"


def table_env() -> dict[str, str]:
    """Environment variables naming each table, as the CDK app also sets them."""
    return {f"{t.name.upper()}_TABLE": table_name(t) for t in TABLES}


def bucket_name(bucket: Bucket) -> str:
    return f"{LOCAL_PREFIX}-{bucket.name}"


def bucket_env() -> dict[str, str]:
    """Environment variables naming each S3 bucket, as the CDK app also sets them."""
    return {f"{b.name.upper().replace('-', '_')}_BUCKET": bucket_name(b) for b in BUCKETS}


def create_table(table: Table) -> None:
    client = aws.dynamodb()
    attributes = {table.key} | ({table.sort_key} if table.sort_key else set())
    for _, hash_key, range_key in table.indexes:
        attributes.add(hash_key)
        if range_key:
            attributes.add(range_key)
    args: dict[str, Any] = {
        "TableName": table_name(table),
        "KeySchema": [{"AttributeName": table.key, "KeyType": "HASH"}]
        + ([{"AttributeName": table.sort_key, "KeyType": "RANGE"}] if table.sort_key else []),
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        args["GlobalSecondaryIndexes"] = [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}]
                + ([{"AttributeName": r, "KeyType": "RANGE"}] if r else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, h, r in table.indexes
        ]
    if table.stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    client.create_table(**args)
    if table.ttl:
        client.update_time_to_live(
            TableName=table_name(table),
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl},
        )


def create_secrets() -> dict[str, str]:
    """Create the bus's secrets in (moto's) Secrets Manager from the local values (the plain
    variables or their printed defaults), as the CDK app creates them in AWS; the environment
    variables with their ARNs, so functions read them the way they do in AWS."""
    settings = get_settings()
    client = aws.client("secretsmanager")
    agency_keys = os.environ.get("CITIZENBUS_AGENCY_KEYS", "")
    keys = dict(pair.strip().split("=", 1) for pair in agency_keys.split(",") if "=" in pair)
    values = {
        "twilio_auth_token": settings.twilio_auth_token,
        "open311_keys": os.environ.get("CITIZENBUS_OPEN311_KEYS", ""),
        "pseudonym_key": settings.pseudonym_key,
        "agency_keys": json.dumps({a.strip(): k.strip() for a, k in keys.items()}),
    }
    env: dict[str, str] = {}
    for name, value in values.items():
        if getattr(settings, f"{name}_secret"):
            continue  # the environment names a secret already (a test's own)
        arn = client.create_secret(
            Name=f"{LOCAL_PREFIX}/{name.replace('_', '-')}", SecretString=value or " "
        )["ARN"]
        env[f"{name.upper()}_SECRET_ARN"] = arn
    return env


def create_queue(
    name: str, dlq_arn: str | None = None, visibility: int = 30, max_receives: int = 5
) -> tuple[str, str]:
    """Create an SQS queue (with a redrive policy to ``dlq_arn``); its URL and ARN."""
    attributes: dict[Any, str] = {"VisibilityTimeout": str(visibility)}
    if dlq_arn:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
        )
    url = aws.sqs().create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = aws.sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def provision(catalog: Catalog, bus_name: str, rules: bool = True) -> dict[str, str]:
    """Create everything; returns the queue URLs by queue name.

    ``rules=False`` (the local bus): no rules on the bus; it puts the template's
    (:func:`put_wired_rules`)."""
    for table in TABLES:
        create_table(table)
    events = aws.events()
    events.create_event_bus(Name=bus_name)
    queues: dict[str, str] = {}
    for agency in catalog.agency_ids():
        dlq_url, dlq_arn = create_queue(agency_dlq(agency))
        url, arn = create_queue(agency_queue(agency), dlq_arn)
        queues[agency_dlq(agency)] = dlq_url
        queues[agency_queue(agency)] = url
        if not rules:
            continue
        events.put_rule(
            Name=agency_rule_name(agency),
            EventBusName=bus_name,
            EventPattern=json.dumps(agency_pattern(catalog, agency)),
            State="ENABLED",
        )
        events.put_targets(
            Rule=agency_rule_name(agency),
            EventBusName=bus_name,
            Targets=[{"Id": "agency-queue", "Arn": arn, "DeadLetterConfig": {"Arn": dlq_arn}}],
        )
        # Webhook deliveries: a second target, its own queue and DLQ (issue 4).
        ddlq_url, ddlq_arn = create_queue(delivery_dlq(agency))
        durl, darn = create_queue(
            delivery_queue(agency), ddlq_arn, max_receives=DELIVERY_MAX_RECEIVES
        )
        queues[delivery_dlq(agency)] = ddlq_url
        queues[delivery_queue(agency)] = durl
        events.put_targets(
            Rule=agency_rule_name(agency),
            EventBusName=bus_name,
            Targets=[
                {"Id": "webhook-delivery", "Arn": darn, "DeadLetterConfig": {"Arn": ddlq_arn}}
            ],
        )
    for fn in FUNCTIONS:
        if not fn.subscribes:
            continue
        dlq_url, dlq_arn = create_queue(function_dlq(fn.name))
        url, arn = create_queue(function_queue(fn.name), dlq_arn, visibility=2)
        queues[function_dlq(fn.name)], queues[function_queue(fn.name)] = dlq_url, url
        if not rules:
            continue
        events.put_rule(
            Name=f"{LOCAL_PREFIX}-to-{fn.name.replace('_', '-')}",
            EventBusName=bus_name,
            EventPattern=json.dumps(subscription_pattern(fn.subscribes)),
            State="ENABLED",
        )
        events.put_targets(
            Rule=f"{LOCAL_PREFIX}-to-{fn.name.replace('_', '-')}",
            EventBusName=bus_name,
            Targets=[{"Id": "queue", "Arn": arn, "DeadLetterConfig": {"Arn": dlq_arn}}],
        )
    aws.client("sesv2").create_email_identity(EmailIdentity=get_settings().email_from)
    for bucket in BUCKETS:
        aws.s3().create_bucket(
            Bucket=bucket_name(bucket),
            CreateBucketConfiguration={"LocationConstraint": aws.s3().meta.region_name},  # type: ignore[typeddict-item]
        )
    url, _ = create_queue(f"{LOCAL_PREFIX}-outbox-dlq")
    queues[f"{LOCAL_PREFIX}-outbox-dlq"] = url
    # The webhook signing secrets' own key (in AWS the CDK app creates it).
    kms = aws.client("kms")
    key = kms.create_key(Description="citizenbus webhook signing secrets")["KeyMetadata"]
    kms.create_alias(AliasName=get_settings().webhook_secrets_key, TargetKeyId=key["KeyId"])
    return queues


def create_wired_queues(resources: dict[str, Any], queues: dict[str, str]) -> None:
    """Create the template's queues that :func:`provision` did not (``queues``: by name, the
    URLs; updated), dead-letter queues first."""
    wanted = {
        logical: r
        for logical, r in resources.items()
        if r["type"] == "AWS::SQS::Queue" and r.get("name") and r["name"] not in queues
    }
    for _logical, resource in sorted(wanted.items(), key=lambda item: "redrive" in item[1]):
        attributes = {k: str(v) for k, v in resource.get("attributes", {}).items()}
        redrive = resource.get("redrive")
        if redrive:
            dlq = resources[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]["name"]
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": aws.sqs().get_queue_attributes(
                        QueueUrl=queues[dlq], AttributeNames=["QueueArn"]
                    )["Attributes"]["QueueArn"],
                    "maxReceiveCount": redrive["maxReceiveCount"],
                }
            )
        name = resource["name"]
        queues[name] = aws.sqs().create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def put_wired_rules(rules: dict[str, Any], resolve: Any) -> None:
    """The template's rules on the bus: pattern, targets, input transformers, DLQs, retries."""
    events = aws.events()
    for name, rule in sorted(rules.items()):
        bus = resolve(rule["bus"])
        events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(rule["pattern"]),
            State=rule["state"],
        )
        events.put_targets(Rule=name, EventBusName=bus, Targets=resolve(rule["targets"]))

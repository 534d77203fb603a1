"""Each function's IAM role, enforced on the local bus on every AWS call it makes.

The roles are the template's (``wiring.json``, references resolved to the local resources).
Every boto3 client gets two handlers (through botocore's built-in handlers, so clients made by
Powertools or a library are covered too): ``before-parameter-build`` works out the IAM action
and the resource ARN(s) of the call from its parameters (moto itself authorizes most services
against "*", so the ARN is computed here: table and index, queue, secret, bus, bucket and key,
KMS key behind an alias or a ciphertext, SES identity…) and asks moto's policy evaluator
(:class:`moto.iam.access_control.IAMPolicy`) whether the current function's role allows it;
``before-call`` then answers a denied call the way the service does (``AccessDeniedException``,
``AccessDenied`` for S3 and SQS, ``AuthorizationError`` for SNS), so the handler sees a
botocore ``ClientError`` and nothing reaches moto.

Only calls made inside a function's sandbox are checked (``process.current()``); the test
harness and the bus's own plumbing (provisioning, event source polling) act as an unrestricted
administrator, as CloudFormation and the Lambda service do in AWS.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.handlers import BUILTIN_HANDLERS
from moto.iam.access_control import IAMPolicy, PermissionResult

from functions.platform import process

ACCOUNT = "123456789012"
REGION = "eu-north-1"
DENIED_KEY = "citizenbus_access_denied"
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}  # needs no permission in AWS either
# IAM action names that differ from the operation's name
ACTION_NAMES: dict[tuple[str, str], str] = {
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "DeleteObjects"): "DeleteObject",
}
DECISIONS_KEPT = 4096  # per role: (action, resource) pairs remembered
DENIED_CODES = {"s3": "AccessDenied", "sqs": "AccessDenied", "sns": "AuthorizationError"}
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


@dataclass
class Role:
    """One function's role: its statements, evaluated by moto."""

    function: str
    statements: list[dict[str, Any]]
    policy: IAMPolicy = field(init=False)
    any_resource: IAMPolicy = field(init=False)
    # (action, resource) → moto's answer: a role's statements never change (rewire makes a
    # new Role), so each decision is evaluated once; every call is still checked against it
    decided: dict[tuple[str, str | None], bool] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        document = {"Version": "2012-10-17", "Statement": self.statements}
        self.policy = IAMPolicy({"policy_document": _dumps(document)})
        # For calls whose resource cannot be known from their parameters: the action alone.
        loose = [{**s, "Resource": "*"} for s in self.statements if "Resource" in s]
        self.any_resource = IAMPolicy(
            {"policy_document": _dumps({"Version": "2012-10-17", "Statement": loose})}
        )

    def allows(self, action: str, resource: str | None) -> bool:
        if action in ALWAYS_ALLOWED:
            return True
        key = (action, resource)
        answer = self.decided.get(key)
        if answer is None:
            policy, target = (
                (self.any_resource, "*") if resource is None else (self.policy, resource)
            )
            answer = policy.is_action_permitted(action, target) == PermissionResult.PERMITTED
            if len(self.decided) >= DECISIONS_KEPT:
                self.decided.clear()
            self.decided[key] = answer
        return answer

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/citizenbus-{self.function}/{self.function}"


class Enforcer:
    """The roles of the running bus's functions; :data:`ENFORCER` while a bus runs."""

    def __init__(self, roles: dict[str, Role]) -> None:
        self.roles = roles
        self.checked = 0
        self.denied: list[str] = []
        self.stream_iterators: dict[str, str] = {}  # shard iterator → stream ARN

    def check(self, function: str, service: str, operation: str, params: dict[str, Any]) -> str:
        """ "" when ``function``'s role allows the call, else AWS's denial message."""
        role = self.roles.get(function)
        if role is None:
            return f"{function} has no role in the wiring"
        self.checked += 1
        for action, resources in required(self, service, operation, params):
            options = resources or [None]
            if not any(role.allows(action, r) for r in options):
                shown = options[0] or "*"
                message = (
                    f"User: {role.arn} is not authorized to perform: {action} on resource: "
                    f"{shown} because no identity-based policy allows the {action} action"
                )
                self.denied.append(f"{function}: {action} on {shown}")
                return message
        return ""


ENFORCER: list[Enforcer] = []  # the running bus's (a stack: a bus started inside another)


def required(
    enforcer: Enforcer, service: str, operation: str, params: dict[str, Any]
) -> Iterator[tuple[str, list[str | None]]]:
    """The (IAM action, acceptable resource ARNs) pairs a call needs; [] means any resource."""
    action = f"{service}:{ACTION_NAMES.get((service, operation), operation)}"
    if service == "dynamodb":
        yield from _dynamodb(enforcer, operation, params, action)
    elif service == "sqs":
        url = params.get("QueueUrl")
        if url:
            yield action, [_arn("sqs", str(url).rstrip("/").rsplit("/", 1)[-1])]
        elif "QueueName" in params:
            yield action, [_arn("sqs", params["QueueName"])]
        elif "SourceArn" in params:
            yield action, [params["SourceArn"]]
        else:
            yield action, []
    elif service == "events":
        buses = {e.get("EventBusName") or "default" for e in params.get("Entries", [])}
        if not buses and "EventBusName" in params:
            buses = {params["EventBusName"]}
        for bus in sorted(buses) or [None]:
            yield action, [bus if bus is None or bus.startswith("arn:") else _bus_arn(bus)]
    elif service == "secretsmanager":
        secret = params.get("SecretId")
        yield action, [_secret_arn(secret) if secret else None]
    elif service == "kms":
        yield action, [_kms_key_arn(params)]
    elif service == "s3":
        yield from _s3(operation, params, action)
    elif service == "ses":
        sender = params.get("FromEmailAddress") or params.get("Source") or ""
        address = sender.rpartition("<")[2].rstrip(">").strip()
        domain = address.rpartition("@")[2]
        yield action, [_arn("ses", f"identity/{address}"), _arn("ses", f"identity/{domain}")]
    elif service == "sns":
        target = params.get("TargetArn") or params.get("TopicArn")
        yield action, [target] if target else []
    else:
        yield action, []


def _dynamodb(
    enforcer: Enforcer, operation: str, params: dict[str, Any], action: str
) -> Iterator[tuple[str, list[str | None]]]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        for table in sorted(params.get("RequestItems", {})):
            yield action, [_table_arn(table)]
    elif operation in ("TransactWriteItems", "TransactGetItems"):
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                yield f"dynamodb:{TRANSACT_ACTIONS[kind]}", [_table_arn(body["TableName"])]
    elif "StreamArn" in params:
        yield action, [params["StreamArn"]]
    elif "ShardIterator" in params:
        yield action, [enforcer.stream_iterators.get(params["ShardIterator"])]
    elif "TableName" in params:
        arn = _table_arn(params["TableName"])
        index = params.get("IndexName")
        yield action, [f"{arn}/index/{index}" if index else arn]
    else:
        yield action, []


def _s3(
    operation: str, params: dict[str, Any], action: str
) -> Iterator[tuple[str, list[str | None]]]:
    bucket = params.get("Bucket")
    if not bucket:
        yield action, []
    elif operation == "DeleteObjects":
        for item in params.get("Delete", {}).get("Objects", []):
            yield action, [f"arn:aws:s3:::{bucket}/{item['Key']}"]
    elif "Key" in params:
        yield action, [f"arn:aws:s3:::{bucket}/{params['Key']}"]
        if operation == "CopyObject":
            source = params.get("CopySource")
            path = (
                f"{source['Bucket']}/{source['Key']}"
                if isinstance(source, dict)
                else str(source).lstrip("/")
            )
            yield "s3:GetObject", [f"arn:aws:s3:::{path}"]
    else:
        yield action, [f"arn:aws:s3:::{bucket}"]


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _table_arn(table: str) -> str:
    return table if table.startswith("arn:") else _arn("dynamodb", f"table/{table}")


def _bus_arn(bus: str) -> str:
    return _arn("events", f"event-bus/{bus}")


def _secret_arn(secret: str) -> str | None:
    if secret.startswith("arn:"):
        return secret
    from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415 - moto's state, at check time

    found = secretsmanager_backends[ACCOUNT][REGION].secrets.get(secret)
    return str(found.arn) if found is not None else _arn("secretsmanager", f"secret:{secret}")


def _kms_key_arn(params: dict[str, Any]) -> str | None:
    from moto.kms.models import kms_backends  # noqa: PLC0415 - moto's state, at check time
    from moto.kms.utils import _deserialize_ciphertext_blob  # noqa: PLC0415 - as above

    backend = kms_backends[ACCOUNT][REGION]
    key = params.get("KeyId") or params.get("DestinationKeyId")
    try:
        if not key and "CiphertextBlob" in params:
            blob = params["CiphertextBlob"]
            blob = blob if isinstance(blob, bytes) else base64.b64decode(blob)
            key = _deserialize_ciphertext_blob(blob).key_id
        if not key:
            return None
        return _arn("kms", f"key/{backend.any_id_to_key_id(str(key))}")
    except Exception:  # an unknown alias or a foreign blob: the service answers that itself
        return None


def _dumps(document: dict[str, Any]) -> str:
    import json  # noqa: PLC0415 - only when a bus starts

    return json.dumps(document)


# -- botocore hooks -----------------------------------------------------------------------------
def _service(model: Any) -> str:
    metadata = model.service_model.metadata
    name = str(metadata.get("signingName") or metadata.get("endpointPrefix"))
    return "dynamodb" if name.startswith("dynamodb") else name


def _before_parameter_build(params: dict[str, Any], model: Any, context: Any, **_: Any) -> None:
    function = process.current()
    if not function or not ENFORCER:
        return
    message = ENFORCER[-1].check(function, _service(model), model.name, params)
    if message:
        context[DENIED_KEY] = (message, DENIED_CODES.get(_service(model), "AccessDeniedException"))


def _before_call(model: Any, context: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    denied = context.pop(DENIED_KEY, None) if isinstance(context, dict) else None
    if denied is None:
        return None
    message, code = denied
    response = AWSResponse("https://denied.local", 403, HTTPHeaders(), None)
    return response, {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 403},
    }


def _after_call(parsed: dict[str, Any], model: Any, context: Any, **_: Any) -> None:
    """Remember which stream a shard iterator reads (GetRecords names only the iterator)."""
    if not ENFORCER or model.name not in ("GetShardIterator", "GetRecords"):
        return
    enforcer = ENFORCER[-1]
    arn = context.get("citizenbus_stream") if isinstance(context, dict) else None
    for key in ("ShardIterator", "NextShardIterator"):
        if parsed.get(key) and arn:
            enforcer.stream_iterators[parsed[key]] = arn


def _remember_stream(params: dict[str, Any], model: Any, context: Any, **_: Any) -> None:
    if not ENFORCER or not isinstance(context, dict):
        return
    if "StreamArn" in params:
        context["citizenbus_stream"] = params["StreamArn"]
    elif "ShardIterator" in params:
        context["citizenbus_stream"] = ENFORCER[-1].stream_iterators.get(params["ShardIterator"])


_HOOKS = [
    ("before-parameter-build.dynamodb-streams", _remember_stream),
    ("before-parameter-build", _before_parameter_build),
    ("before-call", _before_call),
    ("after-call.dynamodb-streams", _after_call),
]


def register() -> None:
    """Add the hooks to botocore's built-in handlers (once): every client made afterwards
    (moto's ``mock_aws`` starts every session afresh) carries them."""
    if _HOOKS[1] not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.extend(_HOOKS)

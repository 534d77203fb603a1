"""Hand-written minimal handlers: the same validation and the same AWS calls, nothing else.

They are the reference the real handlers' warm cost is held to (budget: 2x). No framework, no
logging, no metrics: a JSON body or form in, the catalog's checks, the same DynamoDB
transaction or EventBridge call, a JSON answer out. A function that has no reference here is
reported without one; add yours to ``REFERENCES``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import boto3
import phonenumbers

Handler = Callable[[dict[str, Any], Any], Any]

_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    if service not in _clients:
        _clients[service] = boto3.client(service)  # type: ignore[call-overload]
    return _clients[service]


def _catalog() -> dict[str, Any]:
    if "catalog" not in _clients:
        path = Path(__file__).resolve().parent.parent / "schemas" / "catalog.json"
        _clients["catalog"] = json.loads(path.read_text(encoding="utf-8"))
    data: dict[str, Any] = _clients["catalog"]
    return data


def _answer(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _av(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {k: _av(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list):
        return {"L": [_av(v) for v in value]}
    return {"S": str(value)}


def _file(
    code: str, attributes: dict[str, str], channel: str, citizen: str, key: str | None
) -> dict[str, Any]:
    """Check against the catalog and store request + event + message id in one transaction."""
    service = next((s for s in _catalog()["services"] if s["service_code"] == code), None)
    if service is None:
        return _answer(400, {"errors": [{"field": "service_code", "message": "no such service"}]})
    errors = []
    known = {a["code"]: a for a in service.get("attributes", [])}
    for name, spec in known.items():
        value = attributes.get(name, "").strip()
        if not value and spec.get("required"):
            errors.append({"field": f"attributes.{name}", "message": "required"})
        elif value and spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
            errors.append({"field": f"attributes.{name}", "message": "invalid"})
    errors += [
        {"field": f"attributes.{n}", "message": "unknown"} for n in attributes if n not in known
    ]
    if errors:
        return _answer(400, {"errors": errors})
    now = datetime.now(UTC)
    at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    ttl = int(time.time())
    place_key = _place_key(service, attributes)
    found = (
        _open_at(place_key, now - timedelta(days=service["duplicate_days"])) if place_key else None
    )
    # "me too": the citizen follows someone else's open request at the same door (their own
    # is filed again, as the function does: someone who reports a place twice means two things)
    original = found["reference"]["S"] if found and found["citizen"]["S"] != citizen else None
    if original:
        reference = original
        items = [
            {
                "Update": {
                    "TableName": os.environ["REQUESTS_TABLE"],
                    "Key": {"reference": {"S": original}},
                    "UpdateExpression": "ADD followers :c, supporters :one",
                    "ExpressionAttributeValues": {":c": {"SS": [citizen]}, ":one": {"N": "1"}},
                }
            },
            _outbox(_event("supported", original, at, {"citizen": citizen}), ttl),
        ]
    else:
        body = str(secrets.randbelow(9 * 10**8) + 10**8)
        reference = body + _luhn(body)
        personal = {n for n, s in known.items() if s.get("personal")}
        public = {k: v for k, v in attributes.items() if k not in personal}
        record = {
            "reference": reference,
            "service_code": code,
            "agency": service["agency"],
            "channel": channel,
            "status": "received",
            "citizen": citizen,
            "attributes": public,
            "personal": {k: v for k, v in attributes.items() if k in personal},
            "submitted_at": at,
            "history": [{"status": "received", "at": at}],
            "version": 1,
            "expires_at": int((now + timedelta(days=365)).timestamp()),
        }
        if place_key:
            record["place_key"] = place_key
        data = {k: record[k] for k in ("reference", "service_code", "agency", "channel")}
        data |= {"status": "received", "attributes": public, "citizen": citizen}
        items = [
            {
                "Put": {
                    "TableName": os.environ["REQUESTS_TABLE"],
                    "Item": {k: _av(v) for k, v in record.items()},
                    "ConditionExpression": "attribute_not_exists(#ref)",
                    "ExpressionAttributeNames": {"#ref": "reference"},
                }
            },
            _outbox(_event("submitted", reference, at, data | {"submitted_at": at}), ttl),
        ]
    if key:
        items.append(
            {
                "Put": {
                    "TableName": os.environ["IDEMPOTENCY_TABLE"],
                    "Item": {
                        "id": {"S": f"intake#{channel}#{citizen}#{key}"},
                        "reference": {"S": reference},
                        "expiration": {"N": str(ttl + 604800)},
                    },
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            }
        )
    _client("dynamodb").transact_write_items(TransactItems=items)
    return _answer(201, {"reference": reference, "status": "received", "submitted_at": at})


def _open_at(place_key: str, since: datetime) -> dict[str, Any] | None:
    """The open request at the same door filed since ``since`` (the "me too" query)."""
    found = _client("dynamodb").query(
        TableName=os.environ["REQUESTS_TABLE"],
        IndexName="by-place",
        KeyConditionExpression="place_key = :p AND submitted_at >= :since",
        FilterExpression="NOT #s IN (:r, :x)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":p": {"S": place_key},
            ":since": {"S": since.isoformat(timespec="seconds").replace("+00:00", "Z")},
            ":r": {"S": "resolved"},
            ":x": {"S": "rejected"},
        },
    )
    items = found.get("Items") or []
    return items[0] if items else None


def _event(kind: str, subject: str, at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/citizenbus/requests",
        "type": f"org.citizenbus.request.{kind}.v1",
        "subject": subject,
        "time": at,
        "datacontenttype": "application/json",
        "data": data,
    }


def _outbox(event: dict[str, Any], ttl: int) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": os.environ["OUTBOX_TABLE"],
            "Item": {
                "id": {"S": event["id"]},
                "type": {"S": event["type"]},
                "subject": {"S": event["subject"]},
                "event": {"S": json.dumps(event)},
                "expires_at": {"N": str(ttl + 172800)},
            },
        }
    }


def _place_key(service: dict[str, Any], attributes: dict[str, str]) -> str | None:
    """The ``by-place`` key of a filing whose service takes duplicates at a public door."""
    place = next((a for a in service.get("attributes", []) if a.get("location")), None)
    if not service.get("duplicate_days") or place is None or place.get("personal"):
        return None
    door = " ".join(
        w for w in re.split(r"[^\w]+", attributes.get(place["code"], "").casefold()) if w
    )
    if not any(c.isdigit() for c in door):
        return None
    return "plc_" + _pseudonym("place", f"{service['service_code']}\n{door}")[4:]


def _pseudonym(kind: str, value: str) -> str:
    key = os.environ.get("PSEUDONYM_KEY", "local-pseudonym-key-change-me").encode()
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest()
    return "cit_" + base64.b32encode(digest[:15]).decode().lower()


def health(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _answer(200, {"status": "ok"})


def app_create(event: dict[str, Any], context: Any) -> dict[str, Any]:
    claims = event["requestContext"].get("authorizer", {}).get("jwt", {}).get("claims", {})
    if not claims.get("sub"):
        return _answer(401, {"errors": [{"field": "authorization", "message": "required"}]})
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return _answer(400, {"errors": [{"field": "body", "message": "not JSON"}]})
    if not isinstance(body, dict) or not isinstance(body.get("service_code"), str):
        return _answer(400, {"errors": [{"field": "service_code", "message": "required"}]})
    attributes = body.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
        return _answer(400, {"errors": [{"field": "attributes", "message": "must be text"}]})
    citizen = _pseudonym("app", claims["sub"])
    key = event.get("headers", {}).get("idempotency-key")
    return _file(body["service_code"], attributes, "app", citizen, key)


def eservice_form(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    fields = dict(parse_qsl(raw))
    meta = {"description", "phone", "email", "notify_by", "language", "consent", "submission_id"}
    attributes = {k: v for k, v in fields.items() if k not in meta}
    phone = fields.get("phone")
    if phone:
        try:
            number = phonenumbers.parse(phone, "SE")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            return _answer(400, {"errors": [{"field": "phone", "message": "invalid"}]})
        phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    elif not fields.get("email"):
        return _answer(400, {"errors": [{"field": "phone", "message": "required"}]})
    citizen = _pseudonym("phone", phone) if phone else _pseudonym("email", fields["email"].lower())
    key = event.get("headers", {}).get("idempotency-key") or fields.get("submission_id")
    code = event.get("pathParameters", {}).get("service_code", "")
    return _file(code, attributes, "eservice", citizen, key)


def outbox_publish(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = [r for r in event.get("Records", []) if r.get("eventName") == "INSERT"]
    entries = []
    for record in records:
        cloud_event = json.loads(record["dynamodb"]["NewImage"]["event"]["S"])
        entries.append(
            {
                "Source": "org.citizenbus",
                "DetailType": cloud_event["type"],
                "Detail": json.dumps(cloud_event),
                "EventBusName": os.environ["EVENT_BUS_NAME"],
            }
        )
    failed = []
    for start in range(0, len(entries), 10):
        answer = _client("events").put_events(Entries=entries[start : start + 10])
        failed += [
            records[start + i]["dynamodb"]["SequenceNumber"]
            for i, e in enumerate(answer.get("Entries", []))
            if e.get("ErrorCode")
        ]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}


# function name -> the minimal handler for the same event the bench sends that function
REFERENCES: dict[str, Handler] = {
    "health": health,
    "app_api": app_create,
    "eservice": eservice_form,
    "outbox_publisher": outbox_publish,
}

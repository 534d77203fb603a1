"""The floor of a cold start (bench/_child.py ``floor``): a handler module that only imports
boto3 and creates the clients a function created (``CITIZENBUS_BENCH_FLOOR``, comma-separated)."""

import os

import boto3

for _service in filter(None, os.environ.get("CITIZENBUS_BENCH_FLOOR", "").split(",")):
    boto3.client(_service)  # type: ignore[call-overload]


def handler(event: object, context: object) -> dict[str, str]:
    return {}

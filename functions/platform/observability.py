"""One Logger and one Metrics object for every function (Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

SERVICE = "citizenbus"
NAMESPACE = "CitizenBus"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

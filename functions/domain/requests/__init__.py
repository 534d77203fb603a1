"""Requests: the record, its store (requests and outbox tables), references, intake,
the lifecycle and the views."""

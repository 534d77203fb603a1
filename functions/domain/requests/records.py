"""The stored request, typed: what every layer passes around instead of a bare dict.

A ``TypedDict`` rather than a class: the record is read from and written to DynamoDB as plain
values (``functions.platform.dynamo``) and serialised to JSON as it is, so the type costs
nothing at run time (no pydantic on the cold path) while mypy checks every key.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class HistoryEntry(TypedDict):
    """One status change: what, when, who (``citizen``, ``system``, ``agency:<id>``), why."""

    status: str
    at: str
    by: str
    note: NotRequired[str]


class Request(TypedDict):
    """A request as the requests table holds it.

    Personal data sits only in ``contact``, ``personal`` (the catalog's personal attributes)
    and the free text (``description``, history notes); ``citizen`` is the pseudonymous id.
    """

    reference: str
    service_code: str
    agency: str
    channel: str
    status: str
    citizen: str
    attributes: dict[str, str]
    personal: NotRequired[dict[str, str]]
    description: NotRequired[str | None]
    contact: NotRequired[dict[str, str]]
    language: str
    notify_by: str | None
    consent: NotRequired[bool]
    submitted_at: str
    submitted_month: NotRequired[str]
    updated_at: str
    expected_at: str
    due: NotRequired[str]
    history: list[HistoryEntry]
    version: int
    expires_at: NotRequired[int]
    sla_breached_at: NotRequired[str]
    erased_at: NotRequired[str]
    assurance: NotRequired[str]  # the eIDAS level of the app identity that filed it
    place_key: NotRequired[str]  # me too: service and normalised place, keyed hash (by-place)
    supporters: NotRequired[int]  # me too: how many other citizens follow it
    language_implied: NotRequired[bool]  # the default: the citizen named no language

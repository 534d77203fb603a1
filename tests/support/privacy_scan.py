"""The privacy watch over the whole suite: personal data filed in a test must not show up in a
log line, a bus event, an error answer or an open-data answer.

``tests/conftest.py`` runs :class:`PrivacyWatch` around every test (autouse). It learns the
personal values as they are filed (contact details and personal attributes, through
``intake.build_record``; contact details saved as preferences), records every log record (the
``citizenbus`` logger at INFO, everything else at its own level), every CloudEvent handed to
the EventBridge publisher, every JSON/Open311 error answer and every open-data answer, plus
what the test printed, and fails the test when any of those holds a filed value (in any of
its forms: :func:`tests.support.privacy.found_in`, the matcher the open-data watch uses too).

Legitimately personal places are not scanned: a TwiML reply to the sender, the agency API's
audited read, the citizen's own request, the local outbox's ``to``, the web form drawn again
with what the citizen typed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.privacy import found_in

TOTALS: dict[str, int] = {"tests": 0, "values": 0, "log_records": 0, "events": 0, "answers": 0}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        self.lines.append(f"{record.name} {message} {json.dumps(extra, default=str)}")


_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message"}


@dataclass
class PrivacyWatch:
    values: dict[str, str] = field(default_factory=dict)  # value -> kind
    places: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    records: _Records = field(default_factory=_Records)

    # -- learning what is personal -----------------------------------------------------------
    def learn(self, kind: str, value: Any) -> None:
        if isinstance(value, str) and value.strip():
            self.values.setdefault(value.strip(), kind)

    def learn_record(self, record: dict[str, Any]) -> None:
        for key, value in (record.get("contact") or {}).items():
            self.learn("email" if key == "email" else "phone", value)
        for value in (record.get("personal") or {}).values():
            self.learn("code", value)

    # -- what is scanned -----------------------------------------------------------------------
    def saw(self, where: str, text: str) -> None:
        self.places.append((where, text))

    def leaks(self, extra: list[tuple[str, str]] = ()) -> list[str]:  # type: ignore[assignment]
        found: list[str] = []
        places = self.places + [("log", line) for line in self.records.lines] + list(extra)
        for where, text in places:
            found += [f"{where}: {v!r} in {text[:300]!r}" for v in found_in(text, self.values)]
        return found


@contextmanager
def watching(monkeypatch: Any) -> Iterator[PrivacyWatch]:
    """Run one test under a :class:`PrivacyWatch`."""
    watch = PrivacyWatch()
    import functions.domain.requests.intake as intake
    from citizenbus.local.runtime import LocalBus
    from functions.domain.citizens.store import CitizenStore
    from functions.platform.bus import EventPublisher

    build_record = intake.build_record

    def learning_build_record(*args: Any, **kwargs: Any) -> dict[str, Any]:
        record = build_record(*args, **kwargs)
        watch.learn_record(record)
        return record

    monkeypatch.setattr(intake, "build_record", learning_build_record)

    save_preferences = CitizenStore.save_preferences

    def learning_save(self: CitizenStore, citizen: str, preferences: dict[str, Any]) -> None:
        watch.learn("phone", preferences.get("phone"))
        watch.learn("email", preferences.get("email"))
        save_preferences(self, citizen, preferences)

    monkeypatch.setattr(CitizenStore, "save_preferences", learning_save)

    save_link_pending = CitizenStore.save_link_pending

    def learning_link(self: CitizenStore, citizen: str, kind: str, value: str, *rest: Any) -> None:
        watch.learn(kind, value)  # a contact being linked is personal too
        save_link_pending(self, citizen, kind, value, *rest)

    monkeypatch.setattr(CitizenStore, "save_link_pending", learning_link)

    entry = EventPublisher.entry

    def watched_entry(self: EventPublisher, event: dict[str, Any]) -> dict[str, Any]:
        made = entry(self, event)
        watch.saw(f"bus event {event.get('type')}", json.dumps(made, ensure_ascii=False))
        return made

    monkeypatch.setattr(EventPublisher, "entry", watched_entry)

    request = LocalBus.request

    def watched_request(self: LocalBus, method: str, path: str, **kwargs: Any) -> Any:
        response = request(self, method, path, **kwargs)
        public = path.startswith(("/open311/", "/open-data"))
        ctype = response.headers.get("Content-Type", response.headers.get("content-type", ""))
        is_error_data = response.status >= 400 and "html" not in ctype
        if public or is_error_data:
            watch.saw(
                f"{method} {path.partition('?')[0]} -> {response.status}",
                response.body.decode("utf-8", "replace"),
            )
        return response

    monkeypatch.setattr(LocalBus, "request", watched_request)

    start = LocalBus.start

    def watched_start(self: LocalBus) -> LocalBus:
        started = start(self)
        # The bus sets the handlers' level from POWERTOOLS_LOG_LEVEL; watch at INFO anyway.
        logging.getLogger("citizenbus").setLevel(logging.INFO)
        return started

    monkeypatch.setattr(LocalBus, "start", watched_start)

    service_logger = logging.getLogger("citizenbus")
    level = service_logger.level
    service_logger.setLevel(min(level or logging.INFO, logging.INFO))
    # Powertools' logger propagates to the root logger, where every other library logs too.
    watched = logging.getLogger() if service_logger.propagate else service_logger
    watched.addHandler(watch.records)
    try:
        yield watch
    finally:
        watched.removeHandler(watch.records)
        service_logger.setLevel(level)
        TOTALS["tests"] += 1
        TOTALS["values"] += len(watch.values)
        TOTALS["log_records"] += len(watch.records.lines)
        TOTALS["events"] += sum(1 for w, _ in watch.places if w.startswith("bus event"))
        TOTALS["answers"] += sum(1 for w, _ in watch.places if not w.startswith("bus event"))

"""The verdict question: after the resolution reached the citizen, ONE question on the same
channel (so only with their consent and to a confirmed contact), at most once per request.

SMS: "Reply 1–5" (the number's open question is remembered for the SMS dialogue); e-mail:
five one-tap links; push: a pointer to the app, which shows ``verdict_asked``. A question
that cannot be sent is forgotten again and never retried: the resolution was sent, and a
retry of the whole notification would send it twice.
"""

from __future__ import annotations

from typing import Any

from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.records import Request
from functions.domain.verdicts import questions
from functions.notifier import senders
from functions.notifier.logic import Message, template_key, templates
from functions.platform.catalog import get_catalog
from functions.platform.observability import logger
from functions.platform.settings import get_settings
from functions.platform.texts import path_prefix

VERDICT_AFTER = "status_changed.resolved"


def _text(key: str, language: str, record: Request, **values: str) -> str:
    texts = templates()[key]
    lang = language if language in texts else "sv"
    service = get_catalog().service(record["service_code"])
    name = service.name(lang) if service else record["service_code"]
    return texts[lang].format(reference=record["reference"], service=name, **values)


def links(reference: str, ends: int, language: str) -> str:
    """One line per score, each a one-tap link carrying the signed token."""
    base = (get_settings().public_url or "http://127.0.0.1:8000").rstrip("/")
    url = f"{base}{path_prefix(language)}/verdict/{questions.token(reference, ends)}"
    return "\n".join(f"{n}: {url}?score={n}" for n in questions.SCORES)


def ask_in_app(event: dict[str, Any], record: Request, skipped: str) -> bool:
    """An app request resolved without a push endpoint: the question waits in the app
    (``verdict_asked``), if the citizen agreed to notifications and never withdrew it."""
    if record["channel"] != "app" or skipped != "no push address":
        return False
    if template_key(event) != VERDICT_AFTER or not record.get("consent"):
        return False
    if CitizenStore().consent(record["citizen"], "push") is False:
        return False
    return bool(questions.claim(record, "app"))


def ask_verdict(sent: Message, record: Request) -> dict[str, Any]:
    """Ask the one question on the channel ``sent`` went by; what happened."""
    reference, language = record["reference"], sent.language
    ends = questions.claim(record, sent.channel)
    if not ends:
        return {"skipped": "asked before"}
    try:
        if sent.channel == "sms":
            body = _text("verdict_sms", language, record)
            provider_id = senders.send_sms(sent.to, body, None)
            CitizenStore().save_open_verdict(pseudonym("phone", sent.to), reference, language, ends)
        elif sent.channel == "email":
            days = str(questions.QUESTION_DAYS)
            body = _text(
                "verdict_email", language, record, links=links(reference, ends, language), days=days
            )
            subject = _text("verdict_subject", language, record)
            provider_id = senders.send_email(sent.to, subject, body, reference)
        else:
            body = _text("verdict_push", language, record)
            subject = _text("verdict_subject", language, record)
            provider_id = senders.send_push(sent.to, subject, body, reference)
    except senders.SendFailed as exc:
        questions.release(reference)
        logger.warning(
            "verdict question not sent", extra={"reference": reference, "error": str(exc)}
        )
        return {"failed": str(exc)}
    CitizenStore().record_sent(
        provider_id,
        reference=reference,
        event_id=f"verdict#{reference}",
        channel=sent.channel,
        kind="verdict",
        citizen=record["citizen"],
    )
    logger.info("verdict asked", extra={"reference": reference, "channel": sent.channel})
    return {"sent": provider_id, "channel": sent.channel, "kind": "verdict"}

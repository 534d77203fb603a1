"""Notifying one citizen about one CloudEvent: plan, send once, record, measure; the e-mail
fallback of an undelivered SMS; confirmation messages to unconfirmed contacts and the status
look-up's one-time codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.idempotency import (
    IdempotencyConfig,
    idempotent_function,
)

from functions.domain.citizens import contacts, links
from functions.domain.citizens import language as languages
from functions.domain.citizens.partition import CitizenPartitions
from functions.domain.citizens.store import CitizenStore
from functions.domain.requests.records import Request
from functions.domain.requests.store import RequestStore
from functions.notifier import senders
from functions.notifier.logic import Confirm, Message, Skip, plan, render, templates
from functions.notifier.verdict import VERDICT_AFTER, ask_in_app, ask_verdict
from functions.platform import process
from functions.platform.catalog import get_catalog
from functions.platform.dedup_store import DedupStore
from functions.platform.observability import NAMESPACE, logger
from functions.platform.settings import get_settings
from functions.platform.texts import path_prefix as language_prefix
from schemas.event_types import SLA_BREACHED, STATUS_CHANGED

# A batch of nothing but poison is reported item by item too, not raised as one error.


idempotency = IdempotencyConfig(
    event_key_jmespath="id", raise_on_no_idempotency_key=True, expires_after_seconds=7 * 24 * 3600
)


def outcome(name: str, record: Request, channel: str) -> None:
    journey_metric("NotificationOutcome." + name, 1, MetricUnit.Count, record, channel)


def journey_metric(
    name: str, value: float, unit: MetricUnit, record: Request, channel: str
) -> None:
    """An EMF metric with the service and channel as dimensions."""

    if is_metrics_disabled():  # single_metric does not check this itself
        return
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=record["service_code"])
        metric.add_dimension(name="channel", value=channel)


def send(message: Message, record: Request) -> str:
    if message.channel == "sms":
        base = get_settings().public_url
        callback = f"{base.rstrip('/')}/channels/sms/status" if base else None
        return senders.send_sms(message.to, message.body, callback)
    if message.channel == "email":
        return senders.send_email(message.to, message.subject, message.body, record["reference"])
    return senders.send_push(message.to, message.subject, message.body, record["reference"])


@process.once
def _notify_once() -> Any:
    """``notify`` behind Powertools idempotency (built on first use: its client is not free)."""
    return idempotent_function(
        data_keyword_argument="event",
        config=idempotency,
        persistence_store=DedupStore().powertools_layer(),
    )(notify)


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    """Notify the citizen about one CloudEvent, once (Powertools idempotency on its id)."""
    result: dict[str, Any] = _notify_once()(event=event)
    return result


def notify(event: dict[str, Any]) -> dict[str, Any]:
    """Notify the citizen about one CloudEvent, and the request's followers (me too) about a
    status change."""
    record = RequestStore().get(event["subject"])
    if record is None:
        return {"skipped": "no such request (erased)"}
    record_journey(event, record)
    result = notify_filer(event, record)
    if event["type"] == STATUS_CHANGED and record.get("supporters"):
        result["followers"] = notify_followers(event, record)
    return result


def as_follower(record: Request, follower: dict[str, Any]) -> Request:
    """``record`` as if ``follower`` had filed it: their id, contact, channel, language and
    consent (so the same rules decide: consent, confirmed contact, language)."""
    mine: dict[str, Any] = dict(record)
    mine |= {
        k: follower[k] for k in ("citizen", "channel", "language", "notify_by") if k in follower
    }
    mine |= {
        "contact": dict(follower.get("contact") or {}),
        "consent": bool(follower.get("consent")),
    }
    return cast("Request", mine)


def notify_followers(event: dict[str, Any], record: Request) -> int:
    """Tell each follower of ``record`` about the change on their own channel; a follower is
    told only with consent and a proven or confirmed contact (never asked to confirm here:
    nobody can make the bus text a stranger by following). One follower's failure is logged,
    not retried (a retry would notify the filer again). Answers how many were told."""
    citizens = CitizenPartitions()  # each follower's items in one read
    told = 0
    for follower in citizens.followers(record["reference"]):
        mine = as_follower(record, follower)
        decision = plan(event, mine, citizens)
        if not isinstance(decision, Message):
            continue
        try:
            provider_id = send(decision, mine)
            citizens.record_sent(
                provider_id,
                reference=record["reference"],
                event_id=event["id"],
                channel=decision.channel,
                kind=decision.kind,
                citizen=mine["citizen"],
            )
        except Exception:
            logger.exception("follower not notified", extra={"reference": record["reference"]})
            continue
        outcome("sent", mine, decision.channel)
        told += 1
    return told


def notify_filer(event: dict[str, Any], record: Request) -> dict[str, Any]:
    """Notify the request's own citizen about one CloudEvent."""
    citizens = CitizenPartitions()  # the citizen's items in one read (for this message only)
    ids = links.identities(record["citizen"], citizens)
    decision = plan(
        event,
        record,
        citizens,
        person=links.account_of(record["citizen"], citizens),
        language=languages.last_used(ids, citizens, [record]),
    )
    if isinstance(decision, Skip):
        ask_in_app(event, record, decision.reason)
        outcome("skipped", record, record.get("notify_by") or "none")
        logger.info(
            "not notified", extra={"reference": record["reference"], "reason": decision.reason}
        )
        return {"skipped": decision.reason}
    if isinstance(decision, Confirm):
        return ask_to_confirm(decision, record, event["id"])
    try:
        provider_id = send(decision, record)
    except senders.SendFailed as exc:
        outcome("failed", record, decision.channel)
        if exc.opted_out:
            citizens.set_consent(record["citizen"], "sms", False, "twilio:opted-out")
            return {"skipped": "opted out at the provider"}
        if exc.retryable:
            raise  # the message stays on the queue and is retried; idempotency lets it through
        logger.warning(
            "notification refused by provider",
            extra={"reference": record["reference"], "error": str(exc)},
        )
        return {"failed": str(exc)}
    try:
        CitizenStore().record_sent(
            provider_id,
            reference=record["reference"],
            event_id=event["id"],
            channel=decision.channel,
            kind=decision.kind,
            citizen=record["citizen"],
        )
    except Exception:  # sent is sent: a retry now would notify twice; only the receipt is lost
        logger.exception(
            "notification sent but not recorded", extra={"reference": record["reference"]}
        )
    outcome("sent", record, decision.channel)
    if decision.kind == VERDICT_AFTER:  # the one question after resolved (once per request)
        ask_verdict(decision, record)
    logger.info(
        "notified",
        extra={
            "reference": record["reference"],
            "channel": decision.channel,
            "kind": decision.kind,
        },
    )
    return {"sent": provider_id, "channel": decision.channel}


def record_journey(event: dict[str, Any], record: Request) -> None:
    """Time to first response, time to resolution and SLA breaches, by service and channel."""
    data = event["data"]
    if event["type"] == SLA_BREACHED:
        journey_metric("SlaBreached", 1, MetricUnit.Count, record, record["channel"])
        return
    if event["type"] != STATUS_CHANGED:
        return
    at = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    submitted = datetime.fromisoformat(record["submitted_at"].replace("Z", "+00:00"))
    seconds = (at - submitted).total_seconds()
    if data.get("previous_status") == "received":
        journey_metric(
            "TimeToFirstResponse", seconds, MetricUnit.Seconds, record, record["channel"]
        )
    if data["status"] in ("resolved", "rejected"):
        journey_metric("TimeToResolution", seconds, MetricUnit.Seconds, record, record["channel"])


def fallback(provider_id: str) -> dict[str, Any]:
    """An SMS that could not be delivered: send the same text by e-mail, once."""
    citizens = CitizenStore()
    notification = citizens.message_status(provider_id)
    if notification is None or notification["channel"] != "sms":
        return {"skipped": "unknown notification"}
    if notification.get("kind") == "verdict":  # "reply 1-5" makes no sense by e-mail
        return {"skipped": "a verdict question has no e-mail fallback"}
    record = RequestStore().get(notification["reference"])
    if record is None:
        return {"skipped": "no e-mail address"}
    email = (record.get("contact") or {}).get("email") or citizens.preferences(
        record["citizen"]
    ).get("email")
    if not email:
        return {"skipped": "no e-mail address"}
    if not contacts.is_confirmed("email", email, citizens):  # no mail to a stranger either
        return {"skipped": "e-mail address unconfirmed"}
    if not citizens.claim_fallback(provider_id):
        return {"skipped": "fallback already sent"}
    subject, body = render(notification["kind"], record.get("language", "sv"), record, None)
    try:
        message_id = senders.send_email(email, subject, body, record["reference"])
    except senders.SendFailed:
        citizens.release_fallback(provider_id)
        raise
    citizens.record_sent(
        message_id,
        reference=record["reference"],
        event_id=notification["event_id"],
        channel="email",
        kind=notification["kind"],
        citizen=record["citizen"],
    )
    outcome("fallback", record, "email")
    return {"sent": message_id, "channel": "email"}


def _fill(key: str, language: str, record: Request, **values: str) -> str:
    texts = templates()[key]
    lang = language if language in texts else "sv"
    catalog = get_catalog()
    service = catalog.service(record["service_code"])
    return texts[lang].format(
        reference=record["reference"],
        service=service.name(lang) if service else record["service_code"],
        jurisdiction=catalog.jurisdiction.name(lang),
        **values,
    )


def _public_base() -> str:
    return (get_settings().public_url or "http://127.0.0.1:8000").rstrip("/")


def ask_to_confirm(decision: Confirm, record: Request, event_id: str) -> dict[str, Any]:
    """One confirmation message per request, at most three per contact a day, else nothing.

    The claim, the cap's count, the pending item (what a ``JA`` refers to) and an e-mail's
    link token are one transaction, written before anything is sent."""
    reference = record["reference"]
    citizens = CitizenStore()
    writes = [
        citizens.pending_put(
            decision.contact, reference, decision.language, contacts.PENDING_TTL_SECONDS
        )
    ]
    token = None
    if decision.channel == "email":
        token, put = contacts.link_token(decision.contact, reference, decision.language, citizens)
        writes.append(put)
    claimed = contacts.claim_confirmation(reference, decision.contact, also=writes)
    if claimed:
        reason = "confirmation already sent" if claimed < 0 else "confirmations capped"
        outcome("unconfirmed", record, decision.channel)
        logger.info("not notified", extra={"reference": reference, "reason": reason})
        return {"skipped": reason}
    try:
        provider_id = _send_confirmation(decision, record, token)
    except senders.SendFailed as exc:
        outcome("failed", record, decision.channel)
        if exc.opted_out:  # the number said STOP to our sender: that declines
            citizens.set_consent(decision.contact, "sms", False, "twilio:opted-out")
            return {"skipped": "opted out at the provider"}
        if exc.retryable:
            contacts.release_confirmation(reference, decision.contact)
            raise
        logger.warning(
            "confirmation refused by provider", extra={"reference": reference, "error": str(exc)}
        )
        return {"failed": str(exc)}
    citizens.record_sent(
        provider_id,
        reference=reference,
        event_id=event_id,
        channel=decision.channel,
        kind="confirm",
        citizen=record["citizen"],
    )
    outcome("confirmation", record, decision.channel)
    logger.info("confirmation sent", extra={"reference": reference, "channel": decision.channel})
    return {"sent": provider_id, "channel": decision.channel, "kind": "confirm"}


def _send_confirmation(decision: Confirm, record: Request, token: str | None) -> str:
    reference = record["reference"]
    if decision.channel == "sms" or token is None:
        body = _fill("confirm_sms", decision.language, record)
        return senders.send_sms(decision.to, body, None)
    path = language_prefix(decision.language) + "/confirm/"
    body = _fill("confirm_email", decision.language, record, link=_public_base() + path + token)
    subject = _fill("confirm_subject", decision.language, record)
    return senders.send_email(decision.to, subject, body, reference)


def send_code(reference: str, via: str, language: str) -> dict[str, Any]:
    """The status look-up's one-time code, to the request's own contact on ``via``.

    Asked for through ``POST /status/code`` (the web function queues it here, so the code is
    made, hashed and sent in one place and never travels). Only a confirmed contact gets one.
    """
    record = RequestStore().get(reference)
    if record is None:
        return {"skipped": "no such request"}
    stored: dict[str, Any] = dict(record.get("contact") or {})
    to = stored.get("phone" if via == "sms" else "email")
    if not to:
        return {"skipped": "no such contact"}
    kind = "phone" if via == "sms" else "email"
    proven = record["channel"] in ("sms", "voice") and via == "sms"
    if not (proven or contacts.is_confirmed(kind, to)):
        return {"skipped": "contact unconfirmed"}
    if via == "sms" and CitizenStore().consent(contacts.contact_id("phone", to), "sms") is False:
        return {"skipped": "the number sent STOP"}
    if via == "sms" and not contacts.sms_capable(to, get_catalog().jurisdiction.sms_countries):
        return {"skipped": "not a mobile number of the jurisdiction"}
    code = contacts.issue_code(reference)
    body = _fill("code", language, record, code=code)
    if via == "sms":
        provider_id = senders.send_sms(to, body, None)
    else:
        subject = _fill("code_subject", language, record)
        provider_id = senders.send_email(to, subject, body, reference)
    CitizenStore().record_sent(
        provider_id,
        reference=reference,
        event_id=f"code#{provider_id}",
        channel=via,
        kind="code",
        citizen=record["citizen"],
    )
    logger.info("look-up code sent", extra={"reference": reference, "channel": via})
    return {"sent": provider_id, "channel": via, "kind": "code"}


def send_link_code(citizen: str, kind: str, language: str) -> dict[str, Any]:
    """The one-time code that links a phone or e-mail to an app citizen, sent there.

    Asked for through ``POST /app/v1/me/contacts`` (which capped it per caller and per
    contact); made, hashed and sent here, so the code never travels. A number that sent STOP,
    or is no mobile number of the jurisdiction, gets nothing."""
    citizens = CitizenStore()
    issued = links.issue_code(citizen, kind, citizens)
    if issued is None:
        return {"skipped": "no code waiting"}
    to, code = issued
    jurisdiction = get_catalog().jurisdiction
    texts = templates()["link_code"]
    lang = language if language in texts else jurisdiction.default_language
    body = texts[lang].format(jurisdiction=jurisdiction.name(lang), code=code)
    if kind == "phone":
        if citizens.consent(contacts.contact_id("phone", to), "sms") is False:
            return {"skipped": "the number sent STOP"}
        if not contacts.sms_capable(to, jurisdiction.sms_countries):
            return {"skipped": "not a mobile number of the jurisdiction"}
        channel, provider_id = "sms", senders.send_sms(to, body, None)
    else:
        subject = templates()["link_code_subject"][lang]
        channel, provider_id = "email", senders.send_email(to, subject, body, "link")
    citizens.record_sent(
        provider_id,
        reference="",
        event_id=f"link#{provider_id}",
        channel=channel,
        kind="link_code",
        citizen=citizen,
    )
    logger.info("link code sent", extra={"channel": channel})
    return {"sent": provider_id, "channel": channel, "kind": "link_code"}

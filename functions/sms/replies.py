"""One reply per Twilio message: a retried webhook (same MessageSid) gets the stored reply
instead of a second filing (Powertools idempotency on the citizen and the message id)."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.platform.dedup_store import DedupStore
from functions.platform.settings import get_settings


def once(citizen: str, message_sid: str, compute: Callable[[], str], context: LambdaContext) -> str:
    """``compute()`` the first time this citizen's ``MessageSid`` is seen; the same reply after.

    Powertools idempotency on the idempotency table, keyed on citizen and MessageSid. If the
    first delivery is still being handled, the reply is computed again (filing is itself
    deduplicated on the MessageSid, so that cannot file twice).
    """
    # Powertools idempotency (with boto3) on the first text, not at import
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415 - see above
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415 - see above
        IdempotencyAlreadyInProgressError,
    )

    settings = get_settings()
    persistence = DedupStore().powertools_layer()
    config = IdempotencyConfig(
        event_key_jmespath="[citizen, sid]",
        expires_after_seconds=settings.dedup_ttl_days * 24 * 3600,
    )
    config.register_lambda_context(context)

    @idempotent_function(
        data_keyword_argument="message",
        persistence_store=persistence,
        config=config,
        key_prefix="sms-reply",
    )
    def handle(message: dict[str, str]) -> dict[str, str]:
        return {"reply": compute()}

    try:
        result: dict[str, str] = handle(message={"citizen": citizen, "sid": message_sid})
    except IdempotencyAlreadyInProgressError:
        return compute()
    return result["reply"]

"""Funders' subscriptions: webhooks signed with Standard Webhooks, and e-mail subscriptions.

`fan_out` (from the consumer) plans one delivery per active webhook subscription that follows
an item and one e-mail per active e-mail subscription; `deliver` is the dispatcher's `webhook`
job: one attempt, then the schedule (`NOTIFIER_WEBHOOK_RETRY_SCHEDULE_SECONDS`). A 2xx is
delivered; a 410 fails the delivery and disables the subscription at once; anything else, a
time-out or a refused connection is tried again, and a run of failures over the whole schedule
disables the subscription and tells its e-mail, if it has one.

Every attempt checks the URL again (`domain.webhook_urls`: DNS may have changed since the
subscription was written) and signs the stored body with every valid secret. Logs name
subscriptions and deliveries by id only: never a URL (its query may hold a token), a secret or
an e-mail address.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from standardwebhooks.webhooks import Webhook

from services.notifier.dispatcher import Channels
from services.notifier.domain.activity import delivery_settled, subscription_changed
from services.notifier.domain.deliveries import (
    Delivery,
    DeliveryStatus,
    delivery_id,
    retry_due,
    signature_header,
    webhook_body,
)
from services.notifier.domain.items import PublishedItem
from services.notifier.domain.messages import Message, MessageKind, Recipient, message_id
from services.notifier.domain.subscriptions import Subscription
from services.notifier.domain.webhook_urls import addresses_refusal, target_of
from services.notifier.settings import NotifierSettings
from services.notifier.storage.deliveries import WEBHOOK_JOB
from services.notifier.storage.jobs import Job
from services.notifier.storage.unit_of_work import NotifierUnitOfWork
from shared.storage.repository import ConcurrentModification

__all__ = [
    "WEBHOOK_JOB",
    "Outcome",
    "attempt",
    "check_webhook_url",
    "deliver",
    "fan_out",
    "signed_headers",
]

log = structlog.get_logger(__name__)
# httpx logs every request with its full URL at INFO (and httpcore its details at DEBUG): a
# webhook URL's query may hold the receiver's token, so neither logs below WARNING.
for _chatty in ("httpx", "httpcore"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)

GONE_REASON = "el receptor respondió 410 (Gone)"


async def fan_out(
    uow: NotifierUnitOfWork, item: PublishedItem, settings: NotifierSettings, now: datetime
) -> None:
    """Plan the item's deliveries to every active subscription that follows it.

    Ids derive from (subscription, item), so a redelivered event plans nothing new."""
    following = [s for s in await uow.subscriptions.active() if s.filter.matches(item)]
    if not following:
        return
    body = webhook_body(item.webhook_type, item.published_at, item.data)
    deliveries = [
        Delivery(
            id=delivery_id(s.id, item.id),
            subscription_id=s.id,
            event_id=item.id,
            type=item.webhook_type,
            payload=body,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for s in following
        if s.webhook_url
    ]
    feed_url = f"{settings.public_url}/v1/feeds/evidence.atom"
    messages = []
    for s in following:
        if not s.email:
            continue
        recipient = Recipient(subscription_id=s.id)
        messages.append(
            Message(
                id=message_id(MessageKind.EVIDENCE, item.id, recipient),
                kind=MessageKind.EVIDENCE,
                to=recipient,
                context={
                    "item": {"title": item.title, "summary": item.summary, "url": item.url},
                    "feed_url": feed_url,
                },
                private={"email": s.email, "name": None},
                created_at=now,
            )
        )
    # As `application.plan` does for every e-mail: news too old is not worth writing about (a
    # replay after the database was lost).
    oldest = datetime.now(UTC) - timedelta(hours=settings.max_message_age_hours)
    messages = [m for m in messages if m.created_at >= oldest]
    planned = await uow.deliveries.plan(deliveries, uow.jobs)
    mailed = await uow.messages.plan(messages, uow.jobs)
    if planned or mailed:
        log.info("item_fanned_out", item=item.id, deliveries=planned, messages=mailed)


# --- one attempt --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the receiver's status code, or why there was none."""

    status_code: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


async def _addresses(host: str, port: int, seconds: float) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(seconds):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        return []
    return [str(info[4][0]) for info in infos]


async def check_webhook_url(url: str, settings: NotifierSettings) -> str | None:
    """Why the URL may not receive webhooks now (a Spanish sentence), or None.

    With `webhook_allow_private` any http(s) URL is allowed and nothing is resolved."""
    allow = settings.webhook_allow_private
    target = target_of(url, allow_private=allow)
    if isinstance(target, str):
        return target
    if allow:
        return None
    found = await _addresses(target.host, target.port, settings.webhook_timeout_seconds)
    return addresses_refusal(found, allow_private=allow)


def signed_headers(
    message_id: str, payload: str, secrets: list[str], timestamp: datetime
) -> dict[str, str]:
    """Standard Webhooks' headers for one attempt: one `v1,` signature per valid secret."""
    moment = timestamp.astimezone(UTC)
    signatures = [Webhook(secret).sign(message_id, moment, payload) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature_header(signatures),
        "content-type": "application/json",
    }


async def attempt(
    channels: Channels, subscription: Subscription, delivery: Delivery, now: datetime
) -> Outcome:
    """POST the delivery's body to the subscription's URL once; the response's body is not
    read (a receiver owes us a status code, nothing more)."""
    settings = channels.settings
    url = subscription.webhook_url
    if not url:
        return Outcome(error="la suscripción no tiene webhook_url")
    refusal = await check_webhook_url(url, settings)
    if refusal is not None:
        return Outcome(error=f"URL rechazada: {refusal}")
    headers = signed_headers(
        delivery.id, delivery.payload, subscription.signing_secrets(now), datetime.now(UTC)
    )
    try:
        async with channels.http.stream(
            "POST",
            url,
            content=delivery.payload.encode(),
            headers=headers,
            timeout=settings.webhook_timeout_seconds,
        ) as response:
            return Outcome(status_code=response.status_code)
    except httpx.TimeoutException:
        return Outcome(error="tiempo de espera agotado")
    except httpx.HTTPError as exc:
        # The exception's kind, never its text: it quotes the URL.
        return Outcome(error=f"sin respuesta ({type(exc).__name__})")


def recorded(delivery: Delivery, outcome: Outcome, now: datetime) -> Delivery:
    """The delivery after an attempt, still pending (the caller settles it)."""
    return delivery.model_copy(
        update={
            "attempts": delivery.attempts + 1,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error
            or (None if outcome.delivered else f"HTTP {outcome.status_code}"),
            "updated_at": now,
        }
    )


def settled(delivery: Delivery, outcome: Outcome, now: datetime) -> Delivery:
    """Delivered, or failed for good."""
    if outcome.delivered:
        return delivery.model_copy(
            update={
                "status": DeliveryStatus.DELIVERED,
                "delivered_at": now,
                "next_attempt_at": None,
                "last_error": None,
            }
        )
    return delivery.model_copy(update={"status": DeliveryStatus.FAILED, "next_attempt_at": None})


# --- the dispatcher's job -----------------------------------------------------------------------


async def deliver(
    channels: Channels, uow: NotifierUnitOfWork, job: Job, now: datetime
) -> datetime | None:
    """One attempt of one delivery; when to try again, or None when it is settled."""
    found = await uow.deliveries.get(job.ref)
    if found is None or found.entity.status != DeliveryStatus.PENDING:
        return None  # settled before a crash, or by a manual action meanwhile
    delivery, version = found.entity, found.version
    settings = channels.settings
    owner = await uow.subscriptions.get(delivery.subscription_id)
    if owner is None or not owner.entity.active or not owner.entity.webhook_url:
        reason = (
            "suscripción eliminada"
            if owner is None or owner.entity.deleted_at is not None
            else "suscripción desactivada"
            if not owner.entity.active
            else "la suscripción ya no tiene webhook_url"
        )
        failed = delivery.model_copy(
            update={
                "status": DeliveryStatus.FAILED,
                "last_error": reason,
                "next_attempt_at": None,
                "updated_at": now,
            }
        )
        await _save(uow, failed, version, now)
        log.info("webhook_not_attempted", delivery=delivery.id, reason=reason)
        return None
    subscription = owner.entity

    outcome = await attempt(channels, subscription, delivery, now)
    after = recorded(delivery, outcome, now)
    log.info(
        "webhook_attempted",
        delivery=delivery.id,
        subscription=subscription.id,
        attempts=after.attempts,
        status_code=outcome.status_code,
        error=outcome.error,
    )
    if outcome.delivered:
        await _save(uow, settled(after, outcome, now), version, now)
        return None
    if outcome.gone:
        await _save(uow, settled(after, outcome, now), version, now)
        await disable(uow, subscription.id, GONE_REASON, settings, now, cause=delivery.id)
        return None
    wait = retry_due(settings.webhook_retry_schedule_seconds, after.run_attempts)
    if wait is None:
        await _save(uow, settled(after, outcome, now), version, now)
        reason = f"{after.run_attempts} intentos fallidos; el último: {after.last_error}"
        await disable(uow, subscription.id, reason, settings, now, cause=delivery.id)
        return None
    due = now + timedelta(seconds=wait)
    await _save(uow, after.model_copy(update={"next_attempt_at": due}), version, now)
    return due


async def _save(uow: NotifierUnitOfWork, delivery: Delivery, version: int, now: datetime) -> None:
    """Save a delivery, with its `DeliverySettled` when this write settles it."""
    await uow.deliveries.save(delivery, version, delivery_settled(delivery, now))


async def disable(
    uow: NotifierUnitOfWork,
    subscription_id: str,
    reason: str,
    settings: NotifierSettings,
    now: datetime,
    *,
    cause: str,
) -> None:
    """Disable the subscription with `reason` and tell its e-mail (once per `cause`)."""
    for _ in range(3):
        found = await uow.subscriptions.get(subscription_id)
        if found is None or not found.entity.active:
            return
        try:
            disabled = found.entity.disabled(reason, now)
            changed = subscription_changed(disabled, "disabled", now)
            await uow.subscriptions.save(disabled, found.version, [changed])
        except ConcurrentModification:
            continue
        break
    else:
        return
    subscription = found.entity
    log.warning("subscription_disabled", subscription=subscription.id, reason=reason)
    if not subscription.email:
        return
    recipient = Recipient(subscription_id=subscription.id)
    subscription_url = f"{settings.public_url}/v1/subscriptions/{subscription.id}"
    message = Message(
        id=message_id(MessageKind.SUBSCRIPTION_DISABLED, f"disabled|{cause}", recipient),
        kind=MessageKind.SUBSCRIPTION_DISABLED,
        to=recipient,
        context={
            "subscription_id": subscription.id,
            "reason": reason,
            "subscription_url": subscription_url,
            "deliveries_url": f"{subscription_url}/deliveries",
        },
        private={"email": subscription.email, "name": None},
        created_at=now,
    )
    await uow.messages.plan([message], uow.jobs)

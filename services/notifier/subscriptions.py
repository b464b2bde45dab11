"""Funders' subscriptions as use cases: create, read, change, delete, rotate the secret, test
the webhook, see and retry deliveries.

Who may see a subscription: its owner (the funder or staff member whose key created it) and
staff. Anyone else gets 404, as if it did not exist: a funder cannot learn which ids other
funders hold. What only the owner may do (rotate the secret, test, retry) answers 403 to staff
who are not the owner (they can see it exists). Organisations' keys are refused with 403 on
every route: subscriptions are for funders and staff.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Literal

import structlog

from services.notifier.dispatcher import Channels
from services.notifier.domain.activity import (
    delivery_settled,
    subscription_changed,
    subscription_created,
    subscription_deleted,
)
from services.notifier.domain.deliveries import (
    PING,
    Delivery,
    DeliveryStatus,
    delivery_id,
    webhook_body,
)
from services.notifier.domain.subscriptions import (
    Subscription,
    SubscriptionCreate,
    SubscriptionPatch,
)
from services.notifier.settings import NotifierSettings
from services.notifier.storage.deliveries import WEBHOOK_JOB
from services.notifier.storage.unit_of_work import NotifierUnitOfWork
from services.notifier.webhooks import attempt, check_webhook_url, recorded, settled
from shared.auth import forbidden, unauthorized
from shared.errors import InvalidInput, InvalidTransition, NotFound
from shared.principals import Principal
from shared.storage.repository import Versioned

log = structlog.get_logger(__name__)

SECRET_BYTES = 24
_NOT_FOUND = "La suscripción no existe."
_OWNER_ONLY = "Solo quien creó la suscripción puede hacer esto."


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _new_id() -> str:
    return f"sub_{secrets.token_hex(12)}"


def subscriber(caller: Principal) -> Principal:
    """The caller, if funders' and staff's routes are for them: 401 without a key, 403 for an
    organisation's."""
    if caller.kind == "anonymous" or caller.id is None:
        raise unauthorized()
    if caller.kind not in ("funder", "staff"):
        raise forbidden("Las suscripciones son para financistas y el equipo de la Mesa.")
    return caller


async def _checked_url(url: str, settings: NotifierSettings) -> str:
    refusal = await check_webhook_url(url, settings)
    if refusal is not None:
        raise InvalidInput(refusal, errors=[{"field": "webhook_url", "message": refusal}])
    return url


async def create(
    uow: NotifierUnitOfWork,
    body: SubscriptionCreate,
    caller: Principal,
    settings: NotifierSettings,
    now: datetime,
) -> Subscription:
    owner = subscriber(caller)
    assert owner.id is not None
    if body.webhook_url is not None:
        await _checked_url(body.webhook_url, settings)
    subscription = Subscription.create(_new_id(), owner.kind, owner.id, body, new_secret(), now)
    await uow.subscriptions.add(subscription, [subscription_created(subscription, now)])
    log.info("subscription_created", subscription=subscription.id, owner_kind=owner.kind)
    return subscription


async def load(
    uow: NotifierUnitOfWork, subscription_id: str, caller: Principal, *, owner_only: bool = False
) -> Versioned[Subscription]:
    """The subscription if the caller may see it (404 otherwise); `owner_only`: and act as
    its owner (403 for staff who are not)."""
    who = subscriber(caller)
    found = await uow.subscriptions.get(subscription_id)
    if found is None or found.entity.deleted_at is not None:
        raise NotFound(_NOT_FOUND)
    mine = found.entity.owned_by(who.kind, who.id)
    if not (mine or who.is_staff):
        raise NotFound(_NOT_FOUND)
    if owner_only and not mine:
        raise forbidden(_OWNER_ONLY)
    return found


async def list_own(
    uow: NotifierUnitOfWork, caller: Principal, before: tuple[datetime, str] | None, limit: int
) -> list[Subscription]:
    """The caller's subscriptions (staff: everyone's), newest first."""
    who = subscriber(caller)
    if who.is_staff:
        return await uow.subscriptions.page(None, before, limit)
    rows = await uow.subscriptions.page(who.id, before, limit)
    return [s for s in rows if s.owned_by(who.kind, who.id)]


async def patch(
    uow: NotifierUnitOfWork,
    subscription_id: str,
    body: SubscriptionPatch,
    caller: Principal,
    settings: NotifierSettings,
    now: datetime,
) -> Subscription:
    found = await load(uow, subscription_id, caller)
    if "webhook_url" in body.model_fields_set and body.webhook_url is not None:
        await _checked_url(body.webhook_url, settings)
    changed = found.entity.patched(body, now)
    change: Literal["updated", "disabled"] = (
        "disabled" if found.entity.active and not changed.active else "updated"
    )
    await uow.subscriptions.save(
        changed, found.version, [subscription_changed(changed, change, now)]
    )
    log.info("subscription_changed", subscription=changed.id, status=changed.status)
    return changed


async def delete(
    uow: NotifierUnitOfWork, subscription_id: str, caller: Principal, now: datetime
) -> None:
    """Gone at once (404 from now on, its URL, address and secrets erased; the fact is kept
    and published); its pending deliveries fail when their turn comes (not attempted)."""
    found = await load(uow, subscription_id, caller)
    deleted = found.entity.deleted(now)
    await uow.subscriptions.save(deleted, found.version, [subscription_deleted(deleted, now)])
    log.info("subscription_deleted", subscription=found.entity.id)


async def rotate_secret(
    uow: NotifierUnitOfWork,
    subscription_id: str,
    caller: Principal,
    settings: NotifierSettings,
    now: datetime,
) -> Subscription:
    """A new secret; the current one keeps signing beside it for `secret_overlap_hours`."""
    found = await load(uow, subscription_id, caller, owner_only=True)
    secret = new_secret()
    overlap = timedelta(hours=settings.secret_overlap_hours)
    rotated = found.entity.rotated(secret, now, overlap)
    await uow.subscriptions.save(
        rotated, found.version, [subscription_changed(rotated, "secret_rotated", now)]
    )
    log.info("subscription_secret_rotated", subscription=subscription_id)
    return rotated


async def ping(
    uow: NotifierUnitOfWork,
    channels: Channels,
    subscription_id: str,
    caller: Principal,
    now: datetime,
) -> Delivery:
    """Send a `ping` now, once (no retries, and a failure disables nothing: it is a test),
    recorded among the deliveries."""
    found = await load(uow, subscription_id, caller, owner_only=True)
    subscription = found.entity
    subscription.require_webhook()
    ping_id = f"{PING}:{uuid.uuid4().hex}"
    delivery = Delivery(
        id=delivery_id(subscription.id, ping_id),
        subscription_id=subscription.id,
        event_id=ping_id,
        type=PING,
        payload=webhook_body(PING, now, {"subscription_id": subscription.id}),
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    outcome = await attempt(channels, subscription, delivery, now)
    done = settled(recorded(delivery, outcome, now), outcome, now)
    await uow.deliveries.add(done, delivery_settled(done, now))
    log.info(
        "webhook_pinged",
        subscription=subscription.id,
        delivery=done.id,
        status_code=outcome.status_code,
        error=outcome.error,
    )
    return done


async def deliveries(
    uow: NotifierUnitOfWork,
    subscription_id: str,
    caller: Principal,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[Delivery]:
    found = await load(uow, subscription_id, caller)
    return await uow.deliveries.page(found.entity.id, before, limit)


async def retry(
    uow: NotifierUnitOfWork,
    subscription_id: str,
    delivery_id_: str,
    caller: Principal,
    now: datetime,
) -> Delivery:
    """Deliver again now, with the same `webhook-id` and body: the delivery is pending again
    and due at once, with the whole retry schedule before it."""
    found = await load(uow, subscription_id, caller, owner_only=True)
    found.entity.require_active()
    found.entity.require_webhook()
    stored = await uow.deliveries.get(delivery_id_)
    if stored is None or stored.entity.subscription_id != found.entity.id:
        raise NotFound("La entrega no existe en esta suscripción.")
    delivery = stored.entity
    if delivery.type == PING:
        raise InvalidTransition(
            "Un ping no se reintenta; envíe otro con POST /v1/subscriptions/{id}/test.",
            current=delivery.status,
            allowed=[],
        )
    again = delivery.model_copy(
        update={
            "status": DeliveryStatus.PENDING,
            "run_started_after": delivery.attempts,
            "next_attempt_at": now,
            "updated_at": now,
        }
    )
    saved = await uow.deliveries.save(again, stored.version)
    await uow.jobs.schedule(WEBHOOK_JOB, delivery.id, now)
    log.info("webhook_retry_requested", subscription=subscription_id, delivery=delivery.id)
    return saved.entity if saved else again

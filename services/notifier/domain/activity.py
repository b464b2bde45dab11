"""The notifier's own events (`shared.events.notifier`) from its entities: one place that
decides what of a subscription, a delivery or a message may be published (ids, filters,
statuses and counts; never a URL, an address or a secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.notifier.domain.deliveries import Delivery, DeliveryStatus
from services.notifier.domain.messages import Message, MessageStatus
from services.notifier.domain.subscriptions import Subscription
from shared.events.notifier import (
    DeliverySettled,
    MessageSettled,
    SubscriptionChanged,
    SubscriptionCreated,
    SubscriptionDeleted,
    SubscriptionEvent,
)

__all__ = [
    "delivery_settled",
    "message_settled",
    "subscription_changed",
    "subscription_created",
    "subscription_deleted",
]


def _fields(subscription: Subscription, now: datetime) -> dict[str, object]:
    return {
        "subscription_id": subscription.id,
        "owner_kind": subscription.owner_kind,
        "owner_id": subscription.owner_id,
        "status": str(subscription.status),
        "disabled_reason": subscription.disabled_reason,
        "kinds": tuple(str(k) for k in subscription.kinds),
        "themes": subscription.themes,
        "regions": subscription.regions,
        "macrozones": subscription.macrozones,
        "webhook": subscription.webhook_url is not None,
        "email": subscription.email is not None,
        "occurred_at": now,
    }


def subscription_created(subscription: Subscription, now: datetime) -> SubscriptionEvent:
    return SubscriptionCreated.model_validate(_fields(subscription, now))


def subscription_changed(
    subscription: Subscription,
    change: Literal["updated", "secret_rotated", "disabled"],
    now: datetime,
) -> SubscriptionEvent:
    return SubscriptionChanged.model_validate({**_fields(subscription, now), "change": change})


def subscription_deleted(subscription: Subscription, now: datetime) -> SubscriptionEvent:
    return SubscriptionDeleted.model_validate(_fields(subscription, now))


def delivery_settled(delivery: Delivery, now: datetime) -> list[DeliverySettled]:
    """The event of a delivery that has just reached its end (none while it is pending)."""
    if delivery.status == DeliveryStatus.PENDING:
        return []
    return [
        DeliverySettled(
            delivery_id=delivery.id,
            subscription_id=delivery.subscription_id,
            item_id=delivery.event_id,
            type=delivery.type,
            status="delivered" if delivery.status == DeliveryStatus.DELIVERED else "failed",
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            occurred_at=now,
        )
    ]


_SETTLED: dict[MessageStatus, Literal["sent", "failed", "dropped"]] = {
    MessageStatus.SENT: "sent",
    MessageStatus.FAILED: "failed",
    MessageStatus.DROPPED: "dropped",
}


def message_settled(message: Message, now: datetime) -> list[MessageSettled]:
    """The event of a message that has just reached its end (none while it is pending)."""
    status = _SETTLED.get(message.status)
    if status is None:
        return []
    return [
        MessageSettled(
            message_id=message.id,
            kind=str(message.kind),
            status=status,
            attempts=message.attempts,
            occurred_at=now,
        )
    ]

"""Notifier events: what it did, so its state changes are events like every other service's
(``Topic.NOTIFIER_ACTIVITY``, key: subscription id, or message id for e-mail).

Funders' subscriptions as they change (what they follow and their status; never the webhook
URL, the e-mail address or a secret), and each webhook delivery and e-mail message once it is
settled (kind, outcome, attempts; never a recipient). An operator can count deliveries by
outcome, or a future service follow funders' interests, without reading the notifier's
database."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from shared.events.base import EventContract
from shared.events.topics import Topic

__all__ = [
    "NOTIFIER_EVENTS",
    "DeliverySettled",
    "MessageSettled",
    "SubscriptionChanged",
    "SubscriptionCreated",
    "SubscriptionDeleted",
    "SubscriptionEvent",
]


class SubscriptionEvent(EventContract):
    """A subscription as it is after the change (abstract)."""

    topic: ClassVar[Topic] = Topic.NOTIFIER_ACTIVITY

    subscription_id: str
    owner_kind: str  # "funder" or "staff"
    owner_id: str  # the API client's id, never a person
    status: str
    disabled_reason: str | None = None
    kinds: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    macrozones: tuple[str, ...] = ()
    webhook: bool  # it has a webhook URL (which is not published)
    email: bool  # it has an e-mail address (which is not published)
    occurred_at: datetime

    def aggregate_id(self) -> str:
        return self.subscription_id


class SubscriptionCreated(SubscriptionEvent):
    """A funder (or staff) subscribed to result evidence, encuentro results or commitments."""

    name: ClassVar[str] = "notifier.subscription_created"
    version: ClassVar[int] = 1


class SubscriptionChanged(SubscriptionEvent):
    """Its filters or channels changed, its secret was rotated, or it was disabled (by its
    owner, by a 410, or after a run of failed deliveries: `disabled_reason` says which)."""

    name: ClassVar[str] = "notifier.subscription_changed"
    version: ClassVar[int] = 1

    change: Literal["updated", "secret_rotated", "disabled"]


class SubscriptionDeleted(SubscriptionEvent):
    """The funder or staff deleted it: its URL, address and secrets are erased."""

    name: ClassVar[str] = "notifier.subscription_deleted"
    version: ClassVar[int] = 1


class DeliverySettled(EventContract):
    """A webhook delivery reached its end: delivered (a 2xx) or failed (a 410, the schedule
    run out, or its subscription gone)."""

    name: ClassVar[str] = "notifier.delivery_settled"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.NOTIFIER_ACTIVITY

    delivery_id: str  # the `webhook-id`
    subscription_id: str
    item_id: str  # what was delivered ("evidence:…", "ping:…")
    type: str
    status: Literal["delivered", "failed"]
    attempts: int
    last_status_code: int | None = None
    occurred_at: datetime

    def aggregate_id(self) -> str:
        return self.subscription_id


class MessageSettled(EventContract):
    """An e-mail message reached its end: sent, failed (every attempt), or dropped (nobody
    to send it to any more)."""

    name: ClassVar[str] = "notifier.message_settled"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.NOTIFIER_ACTIVITY

    message_id: str
    kind: str
    channel: Literal["email"] = "email"
    status: Literal["sent", "failed", "dropped"]
    attempts: int
    occurred_at: datetime

    def aggregate_id(self) -> str:
        return self.message_id


NOTIFIER_EVENTS: tuple[type[EventContract], ...] = (
    SubscriptionCreated,
    SubscriptionChanged,
    SubscriptionDeleted,
    DeliverySettled,
    MessageSettled,
)

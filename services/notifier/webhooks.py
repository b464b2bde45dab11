"""Funders' subscriptions: webhooks signed with Standard Webhooks, and e-mail subscriptions.

(Being built: `fan_out` plans one delivery per matching webhook subscription and one e-mail per
matching e-mail subscription; `deliver` is the dispatcher's `webhook` job.)
"""

from __future__ import annotations

from datetime import datetime

from services.notifier.dispatcher import Channels
from services.notifier.domain.items import PublishedItem
from services.notifier.settings import NotifierSettings
from services.notifier.storage.jobs import Job
from services.notifier.storage.unit_of_work import NotifierUnitOfWork

WEBHOOK_JOB = "webhook"


async def fan_out(
    uow: NotifierUnitOfWork, item: PublishedItem, settings: NotifierSettings, now: datetime
) -> None:
    """Plan the item's deliveries to every active subscription that follows it."""


async def deliver(
    channels: Channels, uow: NotifierUnitOfWork, job: Job, now: datetime
) -> datetime | None:
    """One attempt of one delivery; when to try again, or None when it is settled."""
    return None

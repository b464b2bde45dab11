"""The reminder the day before an encuentro (the dispatcher's `reminder` job).

The job is put on the schedule when the encuentro is published (and moved when its time
changes); when due, it plans one reminder per participant with a seat at that moment. The
schedule is in the database, so a restart keeps it, and each reminder's id is derived from the
encuentro and the registration, so it is never sent twice."""

from __future__ import annotations

from datetime import datetime

import structlog

from services.notifier import application
from services.notifier.dispatcher import Channels
from services.notifier.storage.jobs import Job
from services.notifier.storage.unit_of_work import NotifierUnitOfWork

log = structlog.get_logger(__name__)


async def expand_reminder(
    channels: Channels, uow: NotifierUnitOfWork, job: Job, now: datetime
) -> datetime | None:
    planned = await application.remind(uow, job.ref, now)
    log.info("reminders_planned", encuentro=job.ref, messages=planned)
    return None

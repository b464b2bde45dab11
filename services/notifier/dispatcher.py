"""The dispatcher: runs the schedule's due jobs (send an e-mail, deliver a webhook, expand a
reminder) with bounded concurrency, in the background of the notifier's process.

Each job kind has a handler that does the work and says when to look again: `None` when the
job is done, or the time of its next attempt. The consumer only *plans* work (messages,
deliveries, jobs), so a slow mail server or webhook receiver never holds up reading Kafka, and
work planned before a crash is found again on the schedule when the process comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import structlog

from services.notifier.mailer import Mailer
from services.notifier.settings import NotifierSettings
from services.notifier.storage.jobs import WORK_ARRIVED, Job
from services.notifier.storage.unit_of_work import NotifierUnitOfWork

log = structlog.get_logger(__name__)

__all__ = ["Channels", "Dispatcher", "JobHandler"]


@dataclass
class Channels:
    """What the work goes out through, built once per process."""

    settings: NotifierSettings
    mailer: Mailer
    http: httpx.AsyncClient


JobHandler = Callable[[Channels, NotifierUnitOfWork, Job, datetime], Awaitable[datetime | None]]


def _now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        channels: Channels,
        unit_of_work: Callable[[], NotifierUnitOfWork],
        handlers: Mapping[str, JobHandler],
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.channels = channels
        self.unit_of_work = unit_of_work
        self.handlers = handlers
        self.clock = clock
        settings = channels.settings
        self.lease = timedelta(seconds=settings.dispatch_lease_seconds)
        self.poll_seconds = settings.dispatch_poll_seconds
        self.concurrency = asyncio.Semaphore(settings.dispatch_concurrency)
        self.batch = settings.dispatch_concurrency * 5
        self._running: set[str] = set()

    async def run_forever(self) -> None:
        wake = WORK_ARRIVED.listener()
        try:
            while True:
                wake.clear()
                try:
                    ran = await self.run_due()
                except Exception:
                    log.exception("dispatch_pass_failed")
                    ran = 0
                if ran:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_seconds)
        finally:
            WORK_ARRIVED.forget(wake)

    async def run_due(self) -> int:
        """Run every job due now (one batch); how many ran."""
        uow = self.unit_of_work()
        jobs = [
            job
            for job in await uow.jobs.due(self.clock(), self.batch)
            if job.id not in self._running
        ]
        await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def _run(self, job: Job) -> None:
        async with self.concurrency:
            uow = self.unit_of_work()
            now = self.clock()
            if not await uow.jobs.claim(job, now, self.lease):
                return
            self._running.add(job.id)
            try:
                handler = self.handlers.get(job.kind)
                if handler is None:
                    log.error("job_kind_unknown", kind=job.kind, job=job.id)
                    await uow.jobs.finish(job)
                    return
                try:
                    due = await handler(self.channels, uow, job, now)
                except Exception:
                    # A bug or an outage of our own database: try again later, not in a loop.
                    log.exception("job_failed", kind=job.kind, ref=job.ref, attempts=job.attempts)
                    due = now + timedelta(seconds=min(5 * 2**job.attempts, 3600))
                if due is None:
                    await uow.jobs.finish(job)
                else:
                    await uow.jobs.retry(job, due)
            finally:
                self._running.discard(job.id)

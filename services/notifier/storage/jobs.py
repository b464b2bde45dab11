"""A durable schedule of work: send this e-mail, deliver this webhook, expand this reminder.

One small document per job (`_id` = "<kind>:<ref>"), removed when the work is done, so the
collection holds only what is due or waiting: the dispatcher's scan of it stays cheap on
FerretDB, which scans for any filter but `_id`. What the work is about (the message, the
delivery) keeps its own document and status; a job only says *when* to look at it again.

Claims are a lease (`lease_until`) taken with the outbox writer's compare-and-set, so a job
claimed by a process that dies is claimed again once the lease lapses, and two dispatchers
never run one job at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import BulkWriteError

from shared.storage.mongo import Document, duplicates_refused
from shared.storage.outbox import OutboxWriter

JOBS = "jobs"
INDEXES: list[list[tuple[str, int]]] = [[("due_at", 1)]]


class WorkSignal:
    """Wakes every dispatcher of this process when a job is scheduled. One `asyncio.Event`
    per dispatcher, made in its own event loop (an event belongs to the loop that first waits
    on it, and tests run several apps, each on its loop, in one process), set through that
    loop."""

    def __init__(self) -> None:
        self._listeners: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def listener(self) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.append((asyncio.get_running_loop(), event))
        return event

    def forget(self, event: asyncio.Event) -> None:
        self._listeners = [(loop, e) for loop, e in self._listeners if e is not event]

    def notify(self) -> None:
        for loop, event in list(self._listeners):
            if loop.is_closed():
                self.forget(event)
            else:
                loop.call_soon_threadsafe(event.set)


# Notified whenever a job is scheduled in this process: the dispatcher wakes at once.
WORK_ARRIVED = WorkSignal()


@dataclass(frozen=True)
class Job:
    kind: str
    ref: str
    due_at: datetime
    attempts: int = 0
    lease_until: datetime | None = None

    @property
    def id(self) -> str:
        return job_id(self.kind, self.ref)


def job_id(kind: str, ref: str) -> str:
    return f"{kind}:{ref}"


class JobQueue:
    def __init__(self, writer: OutboxWriter) -> None:
        self.writer = writer
        self.collection = writer.db[JOBS]

    async def schedule(self, kind: str, ref: str, due_at: datetime) -> None:
        """Add the job, or move an existing one to `due_at` (its attempts kept)."""
        await self.collection.update_one(
            {"_id": job_id(kind, ref)},
            {
                "$set": {"kind": kind, "ref": ref, "due_at": due_at},
                "$setOnInsert": {"attempts": 0, "lease_until": None},
            },
            upsert=True,
        )
        WORK_ARRIVED.notify()

    async def schedule_new(self, jobs: list[Job]) -> None:
        """Add many jobs in one write; those that exist are left as they are."""
        if not jobs:
            return
        documents = [_document(job) for job in jobs]
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            duplicates_refused(exc)
        WORK_ARRIVED.notify()

    async def cancel(self, kind: str, ref: str) -> None:
        await self.collection.delete_one({"_id": job_id(kind, ref)})

    async def get(self, kind: str, ref: str) -> Job | None:
        doc = await self.collection.find_one({"_id": job_id(kind, ref)})
        return _job(doc) if doc else None

    async def due(self, now: datetime, limit: int) -> list[Job]:
        """Jobs due by `now` and not leased to anyone, soonest first."""
        cursor = self.collection.find({"due_at": {"$lte": now}}).sort([("due_at", 1)]).limit(limit)
        jobs = [_job(doc) async for doc in cursor]
        return [job for job in jobs if job.lease_until is None or job.lease_until <= now]

    async def next_due_at(self) -> datetime | None:
        doc = await self.collection.find_one({}, sort=[("due_at", 1)])
        return _job(doc).due_at if doc else None

    async def claim(self, job: Job, now: datetime, lease: timedelta) -> bool:
        """Take the job for `lease`; False when another dispatcher took it first."""
        return await self.writer.update(
            JOBS,
            job.id,
            {"$set": {"lease_until": now + lease}},
            (),
            expect={"lease_until": job.lease_until},
        )

    async def finish(self, job: Job) -> None:
        await self.collection.delete_one({"_id": job.id})

    async def retry(self, job: Job, due_at: datetime) -> None:
        await self.collection.update_one(
            {"_id": job.id},
            {"$set": {"due_at": due_at, "lease_until": None, "attempts": job.attempts + 1}},
        )


def _document(job: Job) -> Document:
    return {
        "_id": job.id,
        "kind": job.kind,
        "ref": job.ref,
        "due_at": job.due_at,
        "attempts": job.attempts,
        "lease_until": job.lease_until,
    }


def _job(doc: Document) -> Job:
    fields: dict[str, Any] = {k: doc.get(k) for k in ("kind", "ref", "due_at", "lease_until")}
    return Job(attempts=int(doc.get("attempts") or 0), **fields)

"""Events app factory (`uvicorn --factory services.events.main:create_app`)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import FastAPI

from services.events import application
from services.events.api import activity, commitments, encuentros, registrations
from services.events.consumers import subscription
from services.events.settings import EventsSettings
from services.events.storage.commitments import COMMITMENTS
from services.events.storage.encuentros import ENCUENTROS
from services.events.storage.invitations import INVITATIONS
from services.events.storage.unit_of_work import EventsUnitOfWork, events_unit_of_work
from shared import access
from shared.runtime import Runtime, ServiceSpec, create_service_app

log = structlog.get_logger(__name__)


async def _erase_expired_forever(runtime: Runtime, settings: EventsSettings) -> None:
    """Participants' personal data go `retention_days` after their encuentro's results."""
    retention = timedelta(days=settings.retention_days)
    while True:
        try:
            erased = await application.erase_expired(
                EventsUnitOfWork(runtime.outbox), retention, datetime.now(UTC)
            )
            if erased:
                log.info("participants_erased", encuentros=erased)
        except Exception:
            log.exception("erasure_scan_failed")
        await asyncio.sleep(settings.erasure_scan_seconds)


async def _on_startup(runtime: Runtime) -> None:
    await EventsUnitOfWork(runtime.outbox).ensure_indexes()
    settings = runtime.settings
    assert isinstance(settings, EventsSettings)
    task = asyncio.create_task(_erase_expired_forever(runtime, settings), name="erasure")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    runtime.on_stop.append(stop)


def create_app(settings: EventsSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        subscription=subscription,
        routers=[
            encuentros.router,
            registrations.router,
            activity.router,
            commitments.router,
            access.router,
        ],
        outbox_collections=[ENCUENTROS, COMMITMENTS, INVITATIONS],
        unit_of_work=events_unit_of_work,
        on_startup=_on_startup,
        settings=settings or EventsSettings(),
        title="Articula · Encuentros por macrozona",
        description=(
            "Encuentros: inscripción, asistencia, grupos, necesidades y ofertas, "
            "compromisos y encuestas."
        ),
    )
    return create_service_app(spec)

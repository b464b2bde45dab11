"""Events app factory (`uvicorn --factory services.events.main:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.events.consumers import subscription
from services.events.settings import EventsSettings
from services.events.storage.unit_of_work import events_unit_of_work
from shared import access
from shared.runtime import ServiceSpec, create_service_app


def create_app(settings: EventsSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        subscription=subscription,
        routers=[access.router],
        unit_of_work=events_unit_of_work,
        settings=settings or EventsSettings(),
        title="Articula · Encuentros por macrozona",
        description=(
            "Encuentros: inscripción, asistencia, grupos, necesidades y ofertas, "
            "compromisos y encuestas."
        ),
    )

    return create_service_app(spec)

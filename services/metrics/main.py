"""Metrics app factory (`uvicorn --factory services.metrics.main:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.metrics.api import evidence, matches, programmes, stats
from services.metrics.consumers import subscription
from services.metrics.settings import MetricsSettings
from services.metrics.storage.matches import MATCHES
from services.metrics.storage.programmes import PROGRAMMES
from services.metrics.storage.unit_of_work import MetricsUnitOfWork, metrics_unit_of_work
from shared import access
from shared.runtime import Runtime, ServiceSpec, create_service_app


async def _on_startup(runtime: Runtime) -> None:
    await MetricsUnitOfWork(runtime.outbox).ensure_indexes()


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    return create_service_app(service_spec(settings or MetricsSettings()))


def service_spec(settings: MetricsSettings) -> ServiceSpec:
    """What makes this service (the app and the `rebuild` command both run it)."""
    return ServiceSpec(
        subscription=subscription,
        routers=[
            stats.router,
            matches.router,
            programmes.router,
            evidence.router,
            access.router,
        ],
        unit_of_work=metrics_unit_of_work,
        outbox_collections=[MATCHES, PROGRAMMES],
        on_startup=_on_startup,
        settings=settings,
        title="Articula · Resultados y evidencia",
        description=(
            "Estadísticas de resultados, cruce de necesidades y ofertas, "
            "indicadores de programas y evidencia."
        ),
    )

"""Metrics app factory (`uvicorn --factory services.metrics.main:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.metrics.consumers import subscription
from services.metrics.settings import MetricsSettings
from shared.runtime import Runtime, ServiceSpec, create_service_app


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        settings=settings or MetricsSettings(),
        title="Articula · Resultados y evidencia",
        description=(
            "Estadísticas de resultados, cruce de necesidades y ofertas, "
            "indicadores de programas y evidencia."
        ),
    )

    async def on_startup(runtime: Runtime) -> None:
        runtime.spec.subscription = subscription(runtime.db)

    spec.on_startup = on_startup
    return create_service_app(spec)

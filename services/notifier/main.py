"""Notifier app factory (`uvicorn --factory services.notifier.main:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.notifier.consumers import subscription
from services.notifier.settings import NotifierSettings
from shared.runtime import Runtime, ServiceSpec, create_service_app


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        settings=settings or NotifierSettings(),
        title="Articula · Notificaciones",
        description="Correo, webhooks firmados y feeds; suscripciones de financistas.",
    )

    async def on_startup(runtime: Runtime) -> None:
        runtime.spec.subscription = subscription(runtime.db)

    spec.on_startup = on_startup
    return create_service_app(spec)

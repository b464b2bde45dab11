"""Notifier app factory (`uvicorn --factory services.notifier.main:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.notifier.consumers import subscription
from services.notifier.settings import NotifierSettings
from shared import access
from shared.runtime import ServiceSpec, create_service_app


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        subscription=subscription,
        routers=[access.router],
        settings=settings or NotifierSettings(),
        title="Articula · Notificaciones",
        description="Correo, webhooks firmados y feeds; suscripciones de financistas.",
    )

    return create_service_app(spec)

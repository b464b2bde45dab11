"""Registry app factory (`uvicorn --factory services.registry.main:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry.api import system
from services.registry.settings import RegistrySettings
from services.registry.storage.pings import PINGS
from shared.runtime import ServiceSpec, create_service_app


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceSpec(
            settings=settings or RegistrySettings(),
            title="Articula · Registro de articuladores",
            description="Autoinscripción de organizaciones articuladoras y directorio público.",
            routers=[system.router],
            outbox_collections=[PINGS],
        )
    )

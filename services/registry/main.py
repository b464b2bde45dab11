"""Registry app factory (`uvicorn --factory services.registry.main:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry.api import calls, organizations, pings, staff
from services.registry.settings import RegistrySettings
from services.registry.storage.api_clients import API_CLIENTS
from services.registry.storage.calls import CALLS
from services.registry.storage.catalog import LiveCatalog
from services.registry.storage.organizations import ORGANIZATIONS
from services.registry.storage.pings import PINGS
from services.registry.storage.principals import RegistryAuthenticator
from services.registry.storage.unit_of_work import RegistryResources, RegistryUnitOfWork
from shared import access
from shared.runtime import Runtime, ServiceSpec, create_service_app


async def _on_startup(runtime: Runtime) -> RegistryResources:
    """Indexes, then the catalogue (loaded in the background; /readyz waits for it)."""
    await RegistryUnitOfWork(runtime.outbox).ensure_indexes()
    catalog = LiveCatalog(runtime.db[ORGANIZATIONS], runtime.settings)
    catalog.start()
    runtime.readiness_checks.append(catalog.readiness)
    runtime.on_stop.append(catalog.stop)
    return RegistryResources(catalog)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceSpec(
            settings=settings or RegistrySettings(),
            title="Articula · Registro de articuladores",
            description=(
                "Autoinscripción de organizaciones articuladoras del ecosistema de innovación "
                "social, confirmación, fichas y directorio público (sin datos personales)."
            ),
            routers=[organizations.router, calls.router, staff.router, pings.router, access.router],
            outbox_collections=[ORGANIZATIONS, CALLS, API_CLIENTS, PINGS],
            on_startup=_on_startup,
            authenticator=lambda runtime: RegistryAuthenticator(runtime.outbox),
        )
    )

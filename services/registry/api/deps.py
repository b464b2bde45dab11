"""FastAPI dependencies of the registry: its resources and the unit of work. Who is calling
(`Caller`, `Staff`, ...) is `shared.access`, as in every service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends

from services.registry.domain.catalog import OrganizationCatalog
from services.registry.domain.errors import Unavailable
from services.registry.storage.unit_of_work import RegistryResources, RegistryUnitOfWork
from shared.access import Caller, Staff, require_owner_or_staff, staff_id
from shared.runtime import Runtime, get_runtime

__all__ = [
    "Caller",
    "Resources",
    "Staff",
    "UoW",
    "loaded_catalog",
    "now",
    "require_owner_or_staff",
    "staff_id",
]

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_resources(runtime: RuntimeDep) -> RegistryResources:
    resources = runtime.service
    assert isinstance(resources, RegistryResources)
    return resources


Resources = Annotated[RegistryResources, Depends(get_resources)]


async def get_unit_of_work(runtime: RuntimeDep, resources: Resources) -> RegistryUnitOfWork:
    return RegistryUnitOfWork(runtime.outbox, resources.catalog, resources.calls)


UoW = Annotated[RegistryUnitOfWork, Depends(get_unit_of_work)]


def now() -> datetime:
    return datetime.now(UTC)


def loaded_catalog(resources: RegistryResources) -> OrganizationCatalog:
    """The catalogue, or 503 while it is still loading after a start."""
    if not resources.catalog.loaded.is_set():
        raise Unavailable(
            "El registro está cargando el directorio tras reiniciarse; intente en unos segundos."
        )
    return resources.catalog.catalog

"""FastAPI dependencies of the registry: the unit of work, and who is calling (anonymous, an
organisation that owns a record, staff or a funder)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

import structlog
from fastapi import Depends, Request

from services.registry.domain.catalog import OrganizationCatalog
from services.registry.domain.errors import RegistryError, Unavailable
from services.registry.storage.unit_of_work import RegistryResources, RegistryUnitOfWork
from shared.auth import bearer_token, forbidden, same_secret, unauthorized
from shared.events.registry import Actor
from shared.problems import Problem
from shared.runtime import Runtime, get_runtime

BOOTSTRAP_STAFF_ID = "bootstrap"


@dataclass(frozen=True)
class Principal:
    kind: Literal["anonymous", "organization", "staff", "funder"]
    id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def owns(self, organization_id: str) -> bool:
        return self.kind == "organization" and self.id == organization_id

    def actor(self) -> Actor:
        assert self.id is not None and self.kind in ("organization", "staff")
        return Actor(kind="owner" if self.kind == "organization" else "staff", id=self.id)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_resources(runtime: RuntimeDep) -> RegistryResources:
    resources = runtime.service
    assert isinstance(resources, RegistryResources)
    return resources


Resources = Annotated[RegistryResources, Depends(get_resources)]


def get_unit_of_work(runtime: RuntimeDep, resources: Resources) -> RegistryUnitOfWork:
    return RegistryUnitOfWork(runtime.outbox, resources.catalog)


UoW = Annotated[RegistryUnitOfWork, Depends(get_unit_of_work)]


async def get_principal(request: Request, runtime: RuntimeDep, uow: UoW) -> Principal:
    token = bearer_token(request)
    if token is None:
        return Principal("anonymous")
    staff_key = runtime.settings.staff_key
    if staff_key is not None and same_secret(token, staff_key.get_secret_value()):
        return Principal("staff", BOOTSTRAP_STAFF_ID)
    client = await uow.api_clients.by_key(token)
    if client is not None:
        return Principal(client.kind, client.id)
    org = await uow.organizations.by_api_key(token)
    if org is not None:
        structlog.contextvars.bind_contextvars(organization_id=org.id)
        return Principal("organization", org.id)
    raise unauthorized()


Caller = Annotated[Principal, Depends(get_principal)]


def require_staff(principal: Caller) -> Principal:
    if principal.kind == "anonymous":
        raise unauthorized()
    if not principal.is_staff:
        raise forbidden("Esta operación es solo para el equipo de la Mesa.")
    return principal


Staff = Annotated[Principal, Depends(require_staff)]


def require_owner_or_staff(organization_id: str, principal: Principal) -> None:
    if principal.kind == "anonymous":
        raise unauthorized()
    if not (principal.is_staff or principal.owns(organization_id)):
        raise forbidden("Solo la propia organización o el equipo de la Mesa pueden hacer esto.")


def now() -> datetime:
    return datetime.now(UTC)


def as_problem(exc: RegistryError) -> Problem:
    return Problem(exc.status, exc.detail, slug=exc.slug, errors=exc.errors)


def loaded_catalog(resources: RegistryResources) -> OrganizationCatalog:
    """The catalogue, or 503 while it is still loading after a start."""
    if not resources.catalog.loaded.is_set():
        raise Unavailable(
            "El registro está cargando el directorio tras reiniciarse; intente en unos segundos."
        )
    return resources.catalog.catalog


def staff_id(staff: Principal) -> str:
    """The id a staff decision is recorded under (staff principals always have one)."""
    assert staff.id is not None
    return staff.id

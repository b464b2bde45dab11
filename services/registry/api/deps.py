"""Who is calling: anonymous, an organisation (owner), staff or a funder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

import structlog
from fastapi import Depends, Request

from services.registry.domain.catalog import OrganizationCatalog
from services.registry.domain.errors import RegistryError, Unavailable
from services.registry.domain.organization import Organization
from services.registry.storage.store import RegistryStore
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


def get_store(runtime: Annotated[Runtime, Depends(get_runtime)]) -> RegistryStore:
    return RegistryStore.of(runtime)


Store = Annotated[RegistryStore, Depends(get_store)]


async def get_principal(request: Request, store: Store) -> Principal:
    token = bearer_token(request)
    if token is None:
        return Principal("anonymous")
    staff_key = store.runtime.settings.staff_key
    if staff_key is not None and same_secret(token, staff_key.get_secret_value()):
        return Principal("staff", BOOTSTRAP_STAFF_ID)
    client = await store.api_clients.by_key(token)
    if client is not None:
        return Principal(client.kind, client.id)
    org = await store.organizations.by_api_key(token)
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


async def load_organization(store: RegistryStore, organization_id: str) -> tuple[Organization, int]:
    found = await store.organizations.get(organization_id)
    if found is None:
        raise Problem(404, "La organización no existe.", slug="no-encontrado")
    return found


def now() -> datetime:
    return datetime.now(UTC)


def correlation_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else None


def as_problem(exc: RegistryError) -> Problem:
    return Problem(exc.status, exc.detail, slug=exc.slug, errors=exc.errors)


def loaded_catalog(store: RegistryStore) -> OrganizationCatalog:
    """The catalogue, or 503 while it is still loading after a start."""
    if not store.catalog.loaded.is_set():
        raise Unavailable(
            "El registro está cargando el directorio tras reiniciarse; intente en unos segundos."
        )
    return store.catalog.catalog


def staff_id(staff: Principal) -> str:
    """The id a staff decision is recorded under (staff principals always have one)."""
    assert staff.id is not None
    return staff.id

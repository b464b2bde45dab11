"""FastAPI dependencies of the events service: the unit of work, the clock, and who may see
what. Who is calling (`Caller`, `Staff`, ...) is `shared.access`, as in every service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends

from services.events.settings import EventsSettings
from services.events.storage.unit_of_work import EventsUnitOfWork
from shared.access import Caller, Staff, require_owner_or_staff, staff_id
from shared.errors import Forbidden, InvalidInput
from shared.principals import Principal
from shared.runtime import Runtime, get_runtime

__all__ = [
    "Caller",
    "Settings",
    "Staff",
    "UoW",
    "actor_of",
    "now",
    "organization_of",
    "require_owner_or_staff",
    "staff_id",
]

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_unit_of_work(runtime: RuntimeDep) -> EventsUnitOfWork:
    return EventsUnitOfWork(runtime.outbox)


UoW = Annotated[EventsUnitOfWork, Depends(get_unit_of_work)]


async def get_settings(runtime: RuntimeDep) -> EventsSettings:
    settings = runtime.settings
    assert isinstance(settings, EventsSettings)
    return settings


Settings = Annotated[EventsSettings, Depends(get_settings)]


def now() -> datetime:
    return datetime.now(UTC)


def actor_of(principal: Principal) -> Principal:
    return principal


def organization_of(principal: Principal, given: str | None) -> str:
    """The organisation a request acts for: its own key's, or the one staff name."""
    if principal.is_staff:
        if given is None:
            raise InvalidInput(
                "El equipo indica la organización por la que inscribe.",
                errors=[{"field": "organization_id", "message": "Requerido para el equipo."}],
            )
        return given
    if principal.kind != "organization" or principal.id is None:
        raise Forbidden("Solo una organización (con su clave) o el equipo pueden hacer esto.")
    if given is not None and given != principal.id:
        raise Forbidden("Una organización solo actúa por sí misma.")
    return principal.id

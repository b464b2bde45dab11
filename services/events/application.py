"""The events service's use cases: what routes and consumers call."""

from __future__ import annotations

from services.events.domain.organizations import KnownOrganization
from services.events.storage.unit_of_work import EventsUnitOfWork


async def keep_organization(uow: EventsUnitOfWork, seen: KnownOrganization) -> None:
    """Apply what the registry published of an organisation: once per event, and never an
    older state over a newer one (a replayed dead letter, say)."""
    found = await uow.organizations.get(seen.id)
    if found is None:
        await uow.organizations.add(seen)
    elif not found.already_applied and seen.changed_at >= found.entity.changed_at:
        await uow.organizations.save(seen, found.version)

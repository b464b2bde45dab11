"""The events service's unit of work: its repositories on one outbox writer."""

from __future__ import annotations

from services.events.storage.organizations import KnownOrganizationRepository
from shared.runtime import Runtime
from shared.storage.outbox import OutboxWriter
from shared.storage.repository import Position, UnitOfWork


class EventsUnitOfWork(UnitOfWork):
    def __init__(self, writer: OutboxWriter, *, applying: Position | None = None) -> None:
        super().__init__(writer, applying=applying)
        self.organizations = KnownOrganizationRepository(self)


def events_unit_of_work(runtime: Runtime, applying: Position | None) -> EventsUnitOfWork:
    return EventsUnitOfWork(runtime.outbox, applying=applying)

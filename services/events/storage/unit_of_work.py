"""The events service's unit of work: its repositories on one outbox writer."""

from __future__ import annotations

from services.events.storage.commitments import INDEXES as COMMITMENT_INDEXES
from services.events.storage.commitments import CommitmentRepository
from services.events.storage.encuentros import INDEXES as ENCUENTRO_INDEXES
from services.events.storage.encuentros import EncuentroRepository
from services.events.storage.invitations import InvitationRepository
from services.events.storage.organizations import KnownOrganizationRepository
from shared.runtime import Runtime
from shared.storage.locks import DocumentLocks
from shared.storage.outbox import OutboxWriter
from shared.storage.repository import Position, UnitOfWork

# Serialises the decisions about one encuentro inside this process (a burst of registrations
# queues instead of retrying compare-and-sets); across processes the compare-and-set decides.
DECISIONS = DocumentLocks()


class EventsUnitOfWork(UnitOfWork):
    def __init__(self, writer: OutboxWriter, *, applying: Position | None = None) -> None:
        super().__init__(writer, applying=applying)
        self.organizations = KnownOrganizationRepository(self)
        self.encuentros = EncuentroRepository(self)
        self.commitments = CommitmentRepository(self)
        self.invitations = InvitationRepository(self)
        self.decisions = DECISIONS

    async def ensure_indexes(self) -> None:
        """For MongoDB deployments' filtered lists; FerretDB reads by `_id` or scans."""
        for keys in ENCUENTRO_INDEXES:
            await self.encuentros.collection.create_index(keys)
        for keys in COMMITMENT_INDEXES:
            await self.commitments.collection.create_index(keys)


def events_unit_of_work(runtime: Runtime, applying: Position | None) -> EventsUnitOfWork:
    return EventsUnitOfWork(runtime.outbox, applying=applying)

"""The registry's unit of work: its repositories on one outbox writer."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.registry.storage.api_clients import ApiClientRepository
from services.registry.storage.calls import CallRepository, HeldCalls
from services.registry.storage.catalog import LiveCatalog
from services.registry.storage.organizations import OrganizationRepository
from services.registry.storage.pings import PingRepository
from shared.storage.outbox import OutboxWriter
from shared.storage.repository import Position, UnitOfWork


class RegistryUnitOfWork(UnitOfWork):
    """`catalog` is the process's in-memory catalogue and `calls` its copy of the registration
    calls; None in the CLI, which has neither."""

    def __init__(
        self,
        writer: OutboxWriter,
        catalog: LiveCatalog | None = None,
        calls: HeldCalls | None = None,
        *,
        applying: Position | None = None,
    ) -> None:
        super().__init__(writer, applying=applying)
        self.organizations = OrganizationRepository(self, catalog)
        self.calls = CallRepository(self, calls)
        self.api_clients = ApiClientRepository(self)
        self.pings = PingRepository(self)

    async def ensure_indexes(self) -> None:
        await self.organizations.ensure_indexes()
        await self.calls.ensure_indexes()
        await self.api_clients.ensure_indexes()


@dataclass(frozen=True)
class RegistryResources:
    """What the running registry holds besides the database: its catalogue and its copy of
    the registration calls."""

    catalog: LiveCatalog
    calls: HeldCalls = field(default_factory=HeldCalls)

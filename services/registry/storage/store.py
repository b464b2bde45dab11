"""The registry's repositories, bundled per request, with the relay hint after each write."""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.storage.api_clients import ApiClientRepository
from services.registry.storage.calls import CallRepository
from services.registry.storage.organizations import OrganizationRepository
from shared.runtime import Runtime


@dataclass(frozen=True)
class RegistryStore:
    organizations: OrganizationRepository
    calls: CallRepository
    api_clients: ApiClientRepository
    runtime: Runtime

    @classmethod
    def of(cls, runtime: Runtime) -> RegistryStore:
        return cls(
            organizations=OrganizationRepository(runtime.db, runtime.settings, runtime.locks),
            calls=CallRepository(runtime.db, runtime.settings, runtime.locks),
            api_clients=ApiClientRepository(runtime.db, runtime.settings, runtime.locks),
            runtime=runtime,
        )

    def published(self, collection: str, doc_id: str) -> None:
        """Hint the outbox relay that a document has new events (published at once)."""
        self.runtime.relay.notify(collection, doc_id)

    async def ensure_indexes(self) -> None:
        await self.organizations.ensure_indexes()
        await self.calls.ensure_indexes()
        await self.api_clients.ensure_indexes()

"""The registry authenticates from its own records, not from the access topic it publishes:
they are the source, and a key must work the moment the registry has shown it."""

from __future__ import annotations

from services.registry.storage.unit_of_work import RegistryUnitOfWork
from shared.principals import Principal
from shared.storage.outbox import OutboxWriter


class RegistryAuthenticator:
    def __init__(self, writer: OutboxWriter) -> None:
        self.writer = writer

    async def principal_for(self, api_key: str) -> Principal | None:
        uow = RegistryUnitOfWork(self.writer)
        client = await uow.api_clients.by_key(api_key)
        if client is not None:
            return Principal(client.kind, client.id)
        org = await uow.organizations.by_api_key(api_key)
        return None if org is None else Principal("organization", org.id)

    def start(self) -> None:
        """Nothing to load: every lookup reads the database."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def readiness(self) -> str | None:
        return None

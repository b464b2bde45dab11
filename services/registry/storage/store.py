"""The registry's repositories and its catalogue, bundled per request."""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.storage.api_clients import ApiClientRepository
from services.registry.storage.calls import CallRepository
from services.registry.storage.catalog import LiveCatalog
from services.registry.storage.organizations import ORGANIZATIONS, OrganizationRepository
from shared.runtime import Runtime

CATALOG = "catalog"


@dataclass(frozen=True)
class RegistryStore:
    organizations: OrganizationRepository
    calls: CallRepository
    api_clients: ApiClientRepository
    catalog: LiveCatalog
    runtime: Runtime

    @classmethod
    def of(cls, runtime: Runtime) -> RegistryStore:
        catalog = runtime.state[CATALOG]
        assert isinstance(catalog, LiveCatalog)
        return cls(
            organizations=OrganizationRepository(runtime.db, runtime.outbox, catalog),
            calls=CallRepository(runtime.db, runtime.outbox),
            api_clients=ApiClientRepository(runtime.db, runtime.outbox),
            catalog=catalog,
            runtime=runtime,
        )

    @classmethod
    async def start(cls, runtime: Runtime) -> None:
        """Indexes, then the catalogue (loaded in the background; /readyz waits for it)."""
        catalog = LiveCatalog(runtime.db[ORGANIZATIONS], runtime.settings)
        runtime.state[CATALOG] = catalog
        store = cls.of(runtime)
        await store.organizations.ensure_indexes()
        await store.calls.ensure_indexes()
        await store.api_clients.ensure_indexes()
        catalog.start()
        runtime.readiness_checks.append(catalog.readiness)
        runtime.on_stop.append(catalog.stop)

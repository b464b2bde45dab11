"""Organisations in the registry's database; every write carries its events (outbox).

Concurrency: each document has a `version`; a save is a compare-and-set on the version it read
(`shared.storage.repository`), so two concurrent PATCHes cannot silently overwrite each other
(the loser gets a 409 and retries). Reads are by `_id` only; everything that filters
(directory, staff queue, duplicate warnings, counts) is answered by the in-memory catalogue
(`storage/catalog.py`), which every save here updates.

API keys: `organization_keys` maps a key's hash (`_id`) to its organisation, so a caller is
found by `_id` instead of a filter on the organisation documents. The key document is written
before the organisation that lists the hash, and a lookup checks that the organisation still
lists it: a key document left by a failed save, or by a rotation, opens nothing (and is kept:
deleting it on a miss could race the save that is about to list it).
"""

from __future__ import annotations

from collections.abc import Iterable

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.registry.domain.errors import Conflict
from services.registry.domain.organization import (
    Organization,
    organization_document,
    organization_from_document,
)
from services.registry.storage.catalog import LiveCatalog
from shared.auth import hash_secret
from shared.events.base import Outgoing
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository, UnitOfWork, Versioned

ORGANIZATIONS = "organizations"
ORGANIZATION_KEYS = "organization_keys"


class OrganizationRepository(DocumentRepository[Organization]):
    collection_name = ORGANIZATIONS

    def __init__(self, uow: UnitOfWork, catalog: LiveCatalog | None) -> None:
        super().__init__(uow)
        self.keys = uow.db[ORGANIZATION_KEYS]
        self.catalog = catalog

    async def ensure_indexes(self) -> None:
        """The RUT is unique. Other indexes serve MongoDB deployments' ad-hoc staff queries;
        the service itself reads by `_id`."""
        c = self.collection
        await c.create_index([("rut", ASCENDING)], unique=True, name="one_per_rut")
        await c.create_index([("status", ASCENDING), ("registered_at", ASCENDING)], name="status")

    def to_document(self, entity: Organization) -> Document:
        doc = organization_document(entity)
        doc["api_key_hashes"] = [record.hash for record in entity.api_keys]
        return doc

    def from_document(self, doc: Document) -> Organization:
        return organization_from_document(doc)

    def written(self, entity: Organization, version: int) -> None:
        if self.catalog is not None:
            self.catalog.written(entity, version)

    async def add(self, entity: Organization, events: Iterable[Outgoing] = ()) -> bool:
        try:
            return await super().add(entity, events)
        except DuplicateKeyError as exc:
            raise Conflict(
                f"Ya existe una organización registrada con el RUT {entity.rut}.",
                errors=[{"field": "rut", "message": "Este RUT ya está registrado."}],
            ) from exc

    async def save(
        self, entity: Organization, version: int, events: Iterable[Outgoing] = ()
    ) -> Versioned[Organization] | None:
        for record in entity.api_keys:  # before the organisation lists it (see the docstring)
            await self.keys.update_one(
                {"_id": record.hash}, {"$set": {"organization_id": entity.id}}, upsert=True
            )
        return await super().save(entity, version, events)

    async def by_api_key(self, api_key: str) -> Organization | None:
        key_hash = hash_secret(api_key)
        key = await self.keys.find_one({"_id": key_hash})
        if key is None:
            return None
        found = await self.get(key["organization_id"])
        if found is not None and key_hash in {record.hash for record in found.entity.api_keys}:
            return found.entity
        return None  # rotated away, or its save never landed: the key opens nothing

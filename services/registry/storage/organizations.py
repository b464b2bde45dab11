"""Organisations in the registry's database; every write carries its events (outbox).

Concurrency: each document has a `version`; a save is a compare-and-set on the version it read,
so two concurrent PATCHes cannot silently overwrite each other (the loser gets a 409 and
retries). Reads are by `_id` only; everything that filters (directory, staff queue, duplicate
warnings, counts) is answered by the in-memory catalogue (`storage/catalog.py`), which every
save here updates.

API keys: `organization_keys` maps a key's hash (`_id`) to its organisation, so a caller is
found by `_id` instead of a filter on the organisation documents. The key document is written
before the organisation that lists the hash, and a lookup checks that the organisation still
lists it: a key document left by a failed save, or by a rotation, opens nothing (and is kept:
deleting it on a miss could race the save that is about to list it).
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.registry.domain.errors import Conflict
from services.registry.domain.organization import (
    Organization,
    organization_document,
    organization_from_document,
)
from services.registry.storage.catalog import LiveCatalog
from shared.auth import hash_secret
from shared.events.base import EventContract
from shared.storage.mongo import Document
from shared.storage.outbox import STAMP, OutboxWriter

ORGANIZATIONS = "organizations"
ORGANIZATION_KEYS = "organization_keys"
_NOT_STATE = {"_id", "outbox", STAMP, "version"}

__all__ = ["ORGANIZATIONS", "ORGANIZATION_KEYS", "ConcurrentModification", "OrganizationRepository"]


class ConcurrentModification(Conflict):
    slug = "modificacion-concurrente"


class OrganizationRepository:
    def __init__(
        self, db: AsyncDatabase[Document], outbox: OutboxWriter, catalog: LiveCatalog
    ) -> None:
        self.collection = db[ORGANIZATIONS]
        self.keys = db[ORGANIZATION_KEYS]
        self.outbox = outbox
        self.catalog = catalog

    async def ensure_indexes(self) -> None:
        """The RUT is unique. Other indexes serve MongoDB deployments' ad-hoc staff queries;
        the service itself reads by `_id`."""
        c = self.collection
        await c.create_index([("rut", ASCENDING)], unique=True, name="one_per_rut")
        await c.create_index([("status", ASCENDING), ("registered_at", ASCENDING)], name="status")

    @staticmethod
    def _document(org: Organization) -> Document:
        doc = organization_document(org)
        doc["api_key_hashes"] = [record.hash for record in org.api_keys]
        return doc

    async def add(
        self, org: Organization, events: Sequence[EventContract], correlation_id: str | None
    ) -> None:
        doc = {**self._document(org), "version": 1}
        try:
            await self.outbox.insert(ORGANIZATIONS, doc, events, correlation_id=correlation_id)
        except DuplicateKeyError as exc:
            raise Conflict(
                f"Ya existe una organización registrada con el RUT {org.rut}.",
                errors=[{"field": "rut", "message": "Este RUT ya está registrado."}],
            ) from exc
        self.catalog.written(org, 1)

    async def get(self, organization_id: str) -> tuple[Organization, int] | None:
        doc = await self.collection.find_one({"_id": organization_id})
        if doc is None:
            return None
        return organization_from_document(doc), int(doc.get("version", 1))

    async def get_many(self, organization_ids: Sequence[str]) -> list[Organization]:
        """The organisations that exist among `organization_ids`, in that order."""
        found = [await self.get(organization_id) for organization_id in organization_ids]
        return [org for org, _ in (f for f in found if f is not None)]

    async def save(
        self,
        org: Organization,
        version: int,
        events: Sequence[EventContract],
        correlation_id: str | None,
    ) -> None:
        """Replace the state read at `version` and queue its events, in one atomic update."""
        state = {k: v for k, v in self._document(org).items() if k not in _NOT_STATE}
        for record in org.api_keys:  # before the organisation lists it (see the docstring)
            await self.keys.update_one(
                {"_id": record.hash}, {"$set": {"organization_id": org.id}}, upsert=True
            )
        saved = await self.outbox.update(
            ORGANIZATIONS,
            org.id,
            {"$set": state, "$inc": {"version": 1}},
            events,
            expect={"version": version},
            correlation_id=correlation_id,
        )
        if not saved:
            raise ConcurrentModification(
                "La ficha cambió mientras se procesaba su solicitud; vuelva a intentarlo."
            )
        self.catalog.written(org, version + 1)

    async def by_api_key(self, api_key: str) -> Organization | None:
        key_hash = hash_secret(api_key)
        key = await self.keys.find_one({"_id": key_hash})
        if key is None:
            return None
        found = await self.get(key["organization_id"])
        if found is not None and key_hash in {record.hash for record in found[0].api_keys}:
            return found[0]
        return None  # rotated away, or its save never landed: the key opens nothing

"""Organisations in the registry's database; every write carries its events (outbox).

Concurrency: each document has a `version`; a save matches on the version it read, so two
concurrent PATCHes cannot silently overwrite each other (the loser gets a 409 and retries).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.registry.domain.directory import (
    DIRECTORY_SORT,
    PENDING_SORT,
    DirectoryQuery,
    directory_filter,
    encode_cursor,
)
from services.registry.domain.duplicates import duplicate_candidates_filter
from services.registry.domain.errors import Conflict
from services.registry.domain.organization import (
    Organization,
    organization_document,
    organization_from_document,
)
from shared import faults
from shared.auth import hash_secret
from shared.events.base import EventContract
from shared.settings import ServiceSettings
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document
from shared.storage.outbox import new_document_with_outbox, outbox_entries, with_outbox

ORGANIZATIONS = "organizations"
_NOT_STATE = {"_id", "outbox", "outbox_pending", "version"}


class ConcurrentModification(Conflict):
    slug = "modificacion-concurrente"


class OrganizationRepository:
    def __init__(
        self, db: AsyncDatabase[Document], settings: ServiceSettings, locks: DocumentLocks
    ) -> None:
        self.collection = db[ORGANIZATIONS]
        self.settings = settings
        self.locks = locks

    async def ensure_indexes(self) -> None:
        c = self.collection
        await c.create_index([("rut", ASCENDING)], unique=True, name="one_per_rut")
        await c.create_index([("api_key_hashes", ASCENDING)], name="api_keys")
        await c.create_index([("status", ASCENDING), ("registered_at", ASCENDING)], name="status")
        await c.create_index([("listed", ASCENDING), ("name_sort", ASCENDING)], name="directory")
        await c.create_index([("name_key", ASCENDING)], name="duplicate_names")
        await c.create_index([("website_domain", ASCENDING)], name="duplicate_domains")
        await c.create_index([("registered_at", ASCENDING)], name="registered_at")

    @staticmethod
    def _document(org: Organization) -> Document:
        doc = organization_document(org)
        doc["api_key_hashes"] = [record.hash for record in org.api_keys]
        return doc

    async def add(
        self, org: Organization, events: Sequence[EventContract], correlation_id: str | None
    ) -> None:
        entries = outbox_entries(events, self.settings, correlation_id=correlation_id)
        doc = {**self._document(org), "version": 1}
        try:
            await self.collection.insert_one(new_document_with_outbox(doc, entries))
        except DuplicateKeyError as exc:
            raise Conflict(
                f"Ya existe una organización registrada con el RUT {org.rut}.",
                errors=[{"field": "rut", "message": "Este RUT ya está registrado."}],
            ) from exc
        faults.maybe_crash(faults.AFTER_STATE_WRITE, self.settings.fault_point)

    async def get(self, organization_id: str) -> tuple[Organization, int] | None:
        doc = await self.collection.find_one({"_id": organization_id}, {"outbox": 0})
        if doc is None:
            return None
        return organization_from_document(doc), int(doc.get("version", 1))

    async def save(
        self,
        org: Organization,
        version: int,
        events: Sequence[EventContract],
        correlation_id: str | None,
    ) -> None:
        """Replace the state read at `version` and queue its events, in one atomic update."""
        state = {k: v for k, v in self._document(org).items() if k not in _NOT_STATE}
        entries = outbox_entries(events, self.settings, correlation_id=correlation_id)
        update = with_outbox({"$set": state, "$inc": {"version": 1}}, entries)
        async with self.locks.hold(ORGANIZATIONS, org.id):  # see shared.storage.locks
            result = await self.collection.update_one({"_id": org.id, "version": version}, update)
        if result.matched_count != 1:
            raise ConcurrentModification(
                "La ficha cambió mientras se procesaba su solicitud; vuelva a intentarlo."
            )
        faults.maybe_crash(faults.AFTER_STATE_WRITE, self.settings.fault_point)

    async def by_api_key(self, api_key: str) -> Organization | None:
        doc = await self.collection.find_one(
            {"api_key_hashes": hash_secret(api_key)}, {"outbox": 0}
        )
        return organization_from_document(doc) if doc else None

    async def directory(self, query: DirectoryQuery) -> list[Organization]:
        """Up to `limit + 1` listed organisations after the cursor, in directory order."""
        cursor = (
            self.collection.find(directory_filter(query), {"outbox": 0})
            .sort(DIRECTORY_SORT)
            .limit(query.limit + 1)
        )
        return [organization_from_document(doc) async for doc in cursor]

    async def directory_all(
        self, query: DirectoryQuery, batch: int = 500
    ) -> AsyncIterator[Organization]:
        """Every listed organisation matching the filters, for CSV export, page by page."""
        page_query = query.model_copy(update={"limit": batch, "cursor": query.cursor})
        while True:
            rows = await self.directory(page_query)
            for org in rows[:batch]:
                yield org
            if len(rows) <= batch:
                return
            last = organization_document(rows[batch - 1])
            page_query = page_query.model_copy(
                update={"cursor": encode_cursor(last["name_sort"], last["_id"])}
            )

    async def staff_list(self, filters: Document, limit: int, skip: int) -> list[Organization]:
        cursor = (
            self.collection.find(filters, {"outbox": 0}).sort(PENDING_SORT).skip(skip).limit(limit)
        )
        return [organization_from_document(doc) async for doc in cursor]

    async def duplicate_candidates(self, org: Organization) -> list[Organization]:
        cursor = self.collection.find(duplicate_candidates_filter(org), {"outbox": 0}).limit(20)
        return [organization_from_document(doc) async for doc in cursor]

    async def count_by(self, filters: Document, field: str) -> dict[str, int]:
        """Counts per value of `field` (lists count once per element), for staff questions."""
        counts: dict[str, int] = {}
        async for doc in self.collection.find(filters, {field: 1}):
            value = doc.get(field)
            for v in value if isinstance(value, list) else [value]:
                key = "sin_respuesta" if v is None else str(v)
                counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

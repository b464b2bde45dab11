"""Keeps this process's catalogue (``domain/catalog.py``) in step with the database.

Three sources, any order (entries carry the document's version, the newest wins):
- start-up: one read of every organisation, in the background; until it ends, the routes that
  need the catalogue answer 503 and ``/readyz`` says so;
- this process's writes: applied right after they land, so a caller reads its own change;
- other processes' writes (several registry instances on MongoDB): every event on the
  organisations topic names an organisation, which is read again by ``_id`` unless the event's
  ``aggregateversion`` is one the catalogue already holds (this process's own writes). The topic is
  followed without a consumer group (`shared.kafka.follower`), from a minute before this
  process started (found by timestamp, so a broker that answers only later still misses
  nothing), and re-reading is harmless, so the start-up read never waits for the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog
from prometheus_client import Gauge
from pydantic import ValidationError
from pymongo.asynchronous.collection import AsyncCollection

from services.registry.domain.catalog import (
    DOCUMENT_FIELDS,
    OrganizationCatalog,
    entry_from_document,
    entry_of,
)
from services.registry.domain.organization import Organization
from shared.events.topics import Topic
from shared.kafka.codec import aggregate_version
from shared.kafka.follower import TopicFollower
from shared.restart import keep_running
from shared.settings import ServiceSettings
from shared.storage.mongo import Document

log = structlog.get_logger(__name__)

CATALOGUE_ENTRIES = Gauge(
    "articula_registry_catalogue_entries", "Organisations in this process's catalogue"
)
CATALOGUE_LOADED = Gauge(
    "articula_registry_catalogue_loaded", "1 once the start-up load has finished, else 0"
)


class LiveCatalog:
    def __init__(self, organizations: AsyncCollection[Document], settings: ServiceSettings) -> None:
        self.catalog = OrganizationCatalog()
        self.collection = organizations
        self.settings = settings
        self.loaded = asyncio.Event()
        self._follow_from_ms = 0
        self.follower = TopicFollower(
            settings,
            Topic.REGISTRY_ORGANIZATIONS,
            self._on_record,
            name="catalog",
            since_ms=lambda: self._follow_from_ms,
        )
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        CATALOGUE_ENTRIES.set_function(lambda: len(self.catalog))
        CATALOGUE_LOADED.set_function(lambda: float(self.loaded.is_set()))
        self._follow_from_ms = int(time.time() * 1000) - 60_000
        self._tasks = [
            asyncio.create_task(self.follower.run_forever(), name="catalog-follow"),
            asyncio.create_task(self._load(), name="catalog-load"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def readiness(self) -> str | None:
        return None if self.loaded.is_set() else "catálogo de organizaciones: cargando"

    def written(self, org: Organization, version: int) -> None:
        """This process saved `org` at `version`."""
        self.catalog.upsert(entry_of(org, version))

    async def refresh(self, organization_id: str) -> None:
        doc = await self.collection.find_one({"_id": organization_id})
        if doc is not None:
            self._keep(doc)

    def _keep(self, doc: Document) -> None:
        """One document into the catalogue; one that no longer reads as an organisation is
        logged and left out rather than stopping the load or the follower."""
        try:
            entry = entry_from_document(doc)
        except ValidationError as exc:
            log.error(
                "catalog_unreadable_document",
                organization_id=doc.get("_id"),
                errors=exc.error_count(),
            )
            return
        self.catalog.upsert(entry)

    async def _load(self) -> None:
        await keep_running(self._load_once, "catalog_load_failed", once=True)

    async def _load_once(self) -> None:
        started = asyncio.get_running_loop().time()
        projection = dict.fromkeys(DOCUMENT_FIELDS, 1)
        async for doc in self.collection.find({}, projection).batch_size(1000):
            self._keep(doc)
        self.loaded.set()
        log.info(
            "catalog_loaded",
            organizations=len(self.catalog),
            seconds=round(asyncio.get_running_loop().time() - started, 1),
        )

    async def _on_record(self, record: Any) -> None:
        """Another write of this organisation: read it again, unless the catalogue already
        holds the version the event was written with (this process's own writes)."""
        if not record.key:
            return
        organization_id = record.key.decode()
        version = aggregate_version(record.headers)
        held = self.catalog.get(organization_id)
        if version is not None and held is not None and held.version >= version:
            return
        await self.refresh(organization_id)

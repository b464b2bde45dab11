"""Keeps this process's catalogue (``domain/catalog.py``) in step with the database.

Three sources, any order (entries carry the document's version, the newest wins):
- start-up: one read of every organisation, in the background; until it ends, the routes that
  need the catalogue answer 503 and ``/readyz`` says so;
- this process's writes: applied right after they land, so a caller reads its own change;
- other processes' writes (several registry instances on MongoDB): every event on the
  organisations topic names an organisation, which is read again by ``_id``. The topic is
  followed without a consumer group, from its end as it was just before the start-up read, so
  nothing between the two is missed.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo.asynchronous.database import AsyncDatabase

from services.registry.domain.catalog import OrganizationCatalog, entry_of
from services.registry.domain.organization import Organization, organization_from_document
from shared.events.topics import Topic, topic_name
from shared.kafka.clients import topic_partitions
from shared.settings import ServiceSettings
from shared.storage.mongo import Document

log = structlog.get_logger(__name__)

ORGANIZATIONS = "organizations"


class LiveCatalog:
    def __init__(self, db: AsyncDatabase[Document], settings: ServiceSettings) -> None:
        self.catalog = OrganizationCatalog()
        self.collection = db[ORGANIZATIONS]
        self.settings = settings
        self.loaded = asyncio.Event()
        self._following = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._follow_topic(), name="catalog-follow"),
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
            self.catalog.upsert(entry_of(organization_from_document(doc), doc.get("version", 1)))

    async def _load(self) -> None:
        # Follow first (bounded wait: a broker outage must not keep the directory down).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._following.wait(), 15)
        delay = 0.5
        while True:
            try:
                started = asyncio.get_running_loop().time()
                async for doc in self.collection.find({}, {"outbox": 0}):
                    org = organization_from_document(doc)
                    self.catalog.upsert(entry_of(org, doc.get("version", 1)))
                self.loaded.set()
                log.info(
                    "catalog_loaded",
                    organizations=len(self.catalog),
                    seconds=round(asyncio.get_running_loop().time() - started, 1),
                )
                return
            except Exception as exc:
                log.warning("catalog_load_failed", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _follow_topic(self) -> None:
        topic = topic_name(Topic.REGISTRY_ORGANIZATIONS, self.settings.topic_prefix)
        positions: dict[TopicPartition, int] = {}
        delay = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                group_id=None,
                client_id=f"articula-{self.settings.service_name}-catalog",
                enable_auto_commit=False,
                isolation_level="read_committed",
            )
            try:
                await consumer.start()
                partitions = await topic_partitions(consumer, topic)
                consumer.assign(partitions)
                for tp in partitions:
                    if tp in positions:
                        consumer.seek(tp, positions[tp])  # after a reconnect: miss nothing
                    else:
                        await consumer.seek_to_end(tp)
                        positions[tp] = await consumer.position(tp)
                self._following.set()
                delay = 0.5
                async for record in consumer:
                    if record.key:
                        await self.refresh(record.key.decode())
                    positions[TopicPartition(record.topic, record.partition)] = record.offset + 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("catalog_follow_failed", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

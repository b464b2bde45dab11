"""Registration calls ("convocatorias") in the registry's database, with their events."""

from __future__ import annotations

import time

from pymongo import ASCENDING

from services.registry.domain.calls import RegistrationCall
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository, UnitOfWork

CALLS = "calls"


class HeldCalls:
    """This process's copy of the registration calls.

    Every registration needs them (to name its call) and they change a few times a year, so
    reading them per request was a database round trip and a tenth of the registry's CPU per
    registration. The copy is dropped when this process changes a call and read again after
    `max_age` seconds, so another instance's change is seen within that.
    """

    def __init__(self, max_age: float = 5.0) -> None:
        self.max_age = max_age
        self._calls: list[RegistrationCall] | None = None
        self._read_at = 0.0
        self._generation = 0  # bumped by every change, so a read that overlapped one is not kept

    def current(self) -> list[RegistrationCall] | None:
        if self._calls is None or time.monotonic() - self._read_at > self.max_age:
            return None
        return list(self._calls)

    def generation(self) -> int:
        return self._generation

    def keep(self, calls: list[RegistrationCall], read_in_generation: int) -> None:
        if read_in_generation == self._generation:
            self._calls, self._read_at = list(calls), time.monotonic()

    def forget(self) -> None:
        self._generation += 1
        self._calls = None


class CallRepository(DocumentRepository[RegistrationCall]):
    collection_name = CALLS

    def __init__(self, uow: UnitOfWork, held: HeldCalls | None = None) -> None:
        super().__init__(uow)
        self.held = held

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("opens_at", ASCENDING)], name="opens_at")

    def to_document(self, entity: RegistrationCall) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> RegistrationCall:
        return RegistrationCall.model_validate({**doc, "id": doc["_id"]})

    def written(self, entity: RegistrationCall, version: int) -> None:
        if self.held is not None:
            self.held.forget()

    async def all(self) -> list[RegistrationCall]:
        """Every call, oldest first (a handful: reading them all is cheap on any backend);
        this process's copy when it has a recent one."""
        if self.held is not None and (calls := self.held.current()) is not None:
            return calls
        generation = self.held.generation() if self.held is not None else 0
        cursor = self.collection.find({}).sort([("opens_at", ASCENDING)])
        calls = [self.entity_of(doc) async for doc in cursor]
        if self.held is not None:
            self.held.keep(calls, generation)
        return calls

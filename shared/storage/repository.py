"""One repository shape for every aggregate, and the unit of work that carries its context.

After *Architecture Patterns with Python* (cosmicpython), adapted to a database without
multi-document transactions: an aggregate is one document, and a change is one atomic
single-document write of the new state, its version, and the events it causes (the outbox,
`shared.storage.outbox`). So there is no commit step; what the unit of work adds is context:

- the correlation id (from `shared.context`, never passed by hand);
- when a consumer applies an event, *which* event (`applying`): every write then also records
  the event's partition offset in the document (`applied_positions`), in the same write as its
  effect and the events it emits. A redelivered event (a crash before the offset commit, a lost
  reply during a database restart) finds its position there and changes nothing: "this event
  applied once, this state, these new events" is one write. Positions, not event ids: a
  partition is read in order, so one offset per partition is all a document needs to keep.

Repositories map entities to documents and back (`to_document`/`from_document`); versions,
outbox fields and positions are handled here and nowhere else. Reads are by `_id` only
(FerretDB scans the collection for any other filter).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.events.base import Outgoing
from shared.storage.mongo import Document, duplicates_refused
from shared.storage.outbox import OUTBOX, STAMP, OutboxWriter

E = TypeVar("E")

VERSION = "version"
APPLIED = "applied_positions"
BOOKKEEPING: frozenset[str] = frozenset({"_id", VERSION, OUTBOX, STAMP, APPLIED})


class ConcurrentModification(Exception):
    """The document changed between read and write (its version moved): nothing was written;
    read again and decide again. Rendered as 409 by every service."""


@dataclass(frozen=True, order=True)
class Position:
    """Where an event was read: `partition` is "<topic>#<number>"."""

    partition: str
    offset: int


def state_of(doc: Document) -> Document:
    """A stored document without the fields this module keeps for itself."""
    return {k: v for k, v in doc.items() if k not in BOOKKEEPING}


def positions_of(doc: Document) -> dict[str, int]:
    return {p["partition"]: int(p["offset"]) for p in doc.get(APPLIED) or ()}


def _positions_document(positions: dict[str, int]) -> list[Document]:
    # A list of small documents: FerretDB takes no dots in keys, and topic names have them.
    return [{"partition": p, "offset": o} for p, o in sorted(positions.items())]


class UnitOfWork:
    """What a use case or a handler writes through: the service's outbox writer and, in a
    handler, the event being applied. Services subclass it to add their repositories."""

    def __init__(self, writer: OutboxWriter, *, applying: Position | None = None) -> None:
        self.writer = writer
        self.db: AsyncDatabase[Document] = writer.db
        self.applying = applying
        self._positions: dict[tuple[str, Any], dict[str, int]] = {}

    def applied_in(self, doc: Document) -> bool:
        """True when the event being applied already took effect on this document."""
        if self.applying is None:
            return False
        return positions_of(doc).get(self.applying.partition, -1) >= self.applying.offset

    def _read(self, collection: str, doc: Document) -> None:
        self._positions[(collection, doc["_id"])] = positions_of(doc)

    def _positions_after(self, collection: str, doc_id: Any) -> list[Document] | None:
        """The document's positions with the event being applied, or None outside a handler."""
        if self.applying is None:
            return None
        positions = dict(self._positions.get((collection, doc_id), {}))
        positions[self.applying.partition] = self.applying.offset
        return _positions_document(positions)


@dataclass(frozen=True)
class Versioned(Generic[E]):
    """An entity as read, with the version a save must find unchanged."""

    entity: E
    version: int
    already_applied: bool = False  # the event being handled already changed this document
    # What the document holds: the highest offset applied to it, per partition (a batch
    # handler decides from it which of its events each document already took).
    positions: Mapping[str, int] = field(default_factory=dict)


class DocumentRepository(ABC, Generic[E]):
    """Entities of one collection, one document each, written with their events."""

    collection_name: ClassVar[str]

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.collection: AsyncCollection[Document] = uow.db[self.collection_name]

    @abstractmethod
    def to_document(self, entity: E) -> Document:
        """The entity's state with its `_id`. Every field, always (None when empty): a save
        sets the fields it is given and leaves the others as they were."""

    @abstractmethod
    def from_document(self, doc: Document) -> E:
        """The entity back from `state_of(doc)` plus `_id`."""

    def entity_of(self, doc: Document) -> E:
        """The entity a stored document holds."""
        return self.from_document({**state_of(doc), "_id": doc["_id"]})

    def written(self, entity: E, version: int) -> None:
        """Called after each landed write (e.g. to update an in-memory catalogue)."""

    async def get(self, entity_id: Any) -> Versioned[E] | None:
        doc = await self.collection.find_one({"_id": entity_id})
        if doc is None:
            return None
        self.uow._read(self.collection_name, doc)
        return Versioned(
            self.entity_of(doc),
            int(doc.get(VERSION, 1)),
            self.uow.applied_in(doc),
            positions_of(doc),
        )

    async def get_many(self, entity_ids: Sequence[Any]) -> list[E]:
        """The entities that exist among `entity_ids`, in that order (one read by `_id` each)."""
        found = [await self.get(entity_id) for entity_id in entity_ids]
        return [f.entity for f in found if f is not None]

    async def add(self, entity: E, events: Iterable[Outgoing] = ()) -> bool:
        """Insert a new entity at version 1 with its events (and tombstones, `Outgoing`), in one
        write. False when the event being applied
        already created it (a redelivery); `DuplicateKeyError` when another one holds its key."""
        doc = {**self.to_document(entity), VERSION: 1}
        positions = self.uow._positions_after(self.collection_name, doc["_id"])
        if positions is not None:
            doc[APPLIED] = positions
        try:
            await self.uow.writer.insert(self.collection_name, doc, events)
        except DuplicateKeyError:
            if self.uow.applying is not None:
                existing = await self.collection.find_one({"_id": doc["_id"]})
                if existing is not None and self.uow.applied_in(existing):
                    return False
            raise
        self.written(entity, 1)
        return True

    async def save(
        self, entity: E, version: int, events: Iterable[Outgoing] = ()
    ) -> Versioned[E] | None:
        """Replace the state read at `version`, with its events, in one compare-and-set; the
        entity at its new version, or None when the event being applied was already applied
        here. `ConcurrentModification` when the version moved."""
        doc = self.to_document(entity)
        doc_id = doc.pop("_id")
        key = (self.collection_name, doc_id)
        if self.uow.applying is not None and key not in self.uow._positions:
            raise RuntimeError("a handler saves only what it read first (get)")
        if (
            self.uow.applying is not None
            and self.uow._positions[key].get(self.uow.applying.partition, -1)
            >= self.uow.applying.offset
        ):
            return None
        fields = {**doc, VERSION: version + 1}
        positions = self.uow._positions_after(self.collection_name, doc_id)
        if positions is not None:
            fields[APPLIED] = positions
        saved = await self.uow.writer.update(
            self.collection_name, doc_id, {"$set": fields}, events, expect={VERSION: version}
        )
        if not saved:
            raise ConcurrentModification(f"{self.collection_name}/{doc_id} changed meanwhile")
        self.uow._positions.pop(key, None)
        self.written(entity, version + 1)
        return Versioned(entity, version + 1)

    # --- a batch handler's writes: the state folded up to a position, recorded with it ---------

    async def save_up_to(
        self, entity: E, found: Versioned[E], position: Position, events: Iterable[Outgoing] = ()
    ) -> Versioned[E]:
        """Replace the state `found` with `entity`, which folded in the events of
        `position.partition` up to `position.offset` (the highest one it took), in one
        compare-and-set that also records that offset among the positions `found` held.
        The batch decides from `found.positions` what the document already took; nothing is
        checked against the unit of work's `applying`. `ConcurrentModification` when the
        version moved."""
        doc = self.to_document(entity)
        doc_id = doc.pop("_id")
        positions = dict(found.positions)
        held = positions.get(position.partition, -1)
        positions[position.partition] = max(held, position.offset)
        fields = {**doc, VERSION: found.version + 1, APPLIED: _positions_document(positions)}
        saved = await self.uow.writer.update(
            self.collection_name, doc_id, {"$set": fields}, events, expect={VERSION: found.version}
        )
        if not saved:
            raise ConcurrentModification(f"{self.collection_name}/{doc_id} changed meanwhile")
        self.uow._positions.pop((self.collection_name, doc_id), None)
        self.written(entity, found.version + 1)
        return Versioned(entity, found.version + 1, positions=positions)

    async def add_up_to(
        self, entity: E, position: Position, events: Iterable[Outgoing] = ()
    ) -> bool:
        """Insert a new entity folded from the events of `position.partition` up to
        `position.offset`, recording that offset in the same write. False when a document of
        that key already holds that offset (the write landed before: a redelivery, a lost
        reply); `DuplicateKeyError` when another write holds the key."""
        doc = {**self.to_document(entity), VERSION: 1}
        doc[APPLIED] = _positions_document({position.partition: position.offset})
        try:
            await self.uow.writer.insert(self.collection_name, doc, events)
        except DuplicateKeyError:
            if await self._holds(doc["_id"], position):
                return False
            raise
        self.written(entity, 1)
        return True

    async def add_many_up_to(self, entities: Sequence[tuple[E, Position]]) -> None:
        """Insert new entities without events, each folded up to its position (recorded with
        it), in one unordered command. A key that exists and holds its position is a write that
        landed before; any other existing key is `ConcurrentModification` (another writer
        created it meanwhile: read again)."""
        if not entities:
            return
        docs = [
            {
                **self.to_document(entity),
                VERSION: 1,
                APPLIED: _positions_document({position.partition: position.offset}),
            }
            for entity, position in entities
        ]
        refused: list[int] = []
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            refused = duplicates_refused(exc)
        for index in refused:
            if not await self._holds(docs[index]["_id"], entities[index][1]):
                raise ConcurrentModification(
                    f"{self.collection_name}/{docs[index]['_id']} created meanwhile"
                )
        for index, (entity, _) in enumerate(entities):
            if index not in refused:
                self.written(entity, 1)

    async def _holds(self, doc_id: Any, position: Position) -> bool:
        existing = await self.collection.find_one({"_id": doc_id})
        held = positions_of(existing).get(position.partition, -1) if existing is not None else -1
        return held >= position.offset

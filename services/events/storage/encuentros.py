"""Encuentros (one document each, with their seat ledger) and the queries that list them.

Lists read summaries: a projection without the ledger, rounds, answers and outbox, with the
counts the last write stored beside them. On FerretDB a filtered list scans the collection;
encuentros are few (tens a year), and on MongoDB the indexes below serve the filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.events.domain.encuentro import Encuentro
from services.events.domain.lifecycle import EncuentroStatus
from services.events.domain.views import Counts
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository, state_of

ENCUENTROS = "encuentros"
_HEAVY = ("registrations", "rounds", "needs_offers", "survey", "history")
SUMMARY_PROJECTION: dict[str, int] = {field: 0 for field in _HEAVY}
INDEXES: list[list[tuple[str, int]]] = [
    [("starts_at", 1), ("_id", 1)],
    [("status", 1), ("macrozone", 1)],
    [("registrations.organization_id", 1)],
]


@dataclass(frozen=True)
class EncuentroQuery:
    macrozone: str | None = None
    statuses: Sequence[str] | None = None
    cycle: str | None = None
    theme: str | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    after: tuple[datetime, str] | None = None  # the cursor: (starts_at, id) of the last row
    limit: int | None = None


class EncuentroRepository(DocumentRepository[Encuentro]):
    collection_name = ENCUENTROS

    def to_document(self, entity: Encuentro) -> Document:
        doc = entity.model_dump(mode="python", exclude={"id"})
        doc["counts"] = {
            "registered": entity.count("registered"),
            "waitlisted": entity.count("waitlisted"),
            "attended": entity.count("attended"),
        }
        return {**doc, "_id": entity.id}

    def from_document(self, doc: Document) -> Encuentro:
        return Encuentro.model_validate({**doc, "id": doc["_id"]})

    async def summaries(self, query: EncuentroQuery) -> list[tuple[Encuentro, Counts]]:
        """Encuentros in (starts_at, id) order, without their ledger, with stored counts."""
        cursor = self.collection.find(_filter(query), SUMMARY_PROJECTION).sort(
            [("starts_at", 1), ("_id", 1)]
        )
        if query.limit is not None:
            cursor = cursor.limit(query.limit)
        found: list[tuple[Encuentro, Counts]] = []
        async for doc in cursor:
            counts = Counts.model_validate(doc.get("counts") or _NO_COUNTS)
            found.append((self.from_document({**state_of(doc), "_id": doc["_id"]}), counts))
        return found

    async def ids_with_registrations_of(self, organization_id: str) -> list[str]:
        docs = self.collection.find({"registrations.organization_id": organization_id}, {"_id": 1})
        return [doc["_id"] async for doc in docs]

    async def ids_due_for_erasure(self, published_before: datetime) -> list[str]:
        docs = self.collection.find(
            {
                "status": str(EncuentroStatus.RESULTS_PUBLISHED),
                "results_published_at": {"$lte": published_before},
                "personal_data_erased_at": None,
            },
            {"_id": 1},
        )
        return [doc["_id"] async for doc in docs]


_NO_COUNTS = {"registered": 0, "waitlisted": 0, "attended": 0}


def _filter(query: EncuentroQuery) -> Document:
    conditions: list[Document] = []
    if query.macrozone is not None:
        conditions.append({"macrozone": query.macrozone})
    if query.statuses is not None:
        conditions.append({"status": {"$in": list(query.statuses)}})
    if query.cycle is not None:
        conditions.append({"cycle": query.cycle})
    if query.theme is not None:
        conditions.append({"theme": query.theme})
    if query.starts_from is not None:
        conditions.append({"starts_at": {"$gte": query.starts_from}})
    if query.starts_to is not None:
        conditions.append({"starts_at": {"$lte": query.starts_to}})
    if query.after is not None:
        starts_at, last_id = query.after
        conditions.append(
            {
                "$or": [
                    {"starts_at": {"$gt": starts_at}},
                    {"starts_at": starts_at, "_id": {"$gt": last_id}},
                ]
            }
        )
    filters: dict[str, Any] = {"$and": conditions} if conditions else {}
    return filters

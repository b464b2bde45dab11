"""Needs-offers answers and the matches found between them, one document each.

A match document outlives its match: withdrawn ones stay (status `withdrawn`), so the same pair
found again later is a new announcement of a known id, and lists read only active ones. The
territory and encuentro fields beside each match serve the list's filters.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel

from services.metrics.domain.matching import CATEGORY_FIT, NEEDS_SERVED, Answer, Match
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository
from shared.values import UtcDatetime

ANSWERS = "answers"
MATCHES = "matches"


def answer_id(organization_id: str, encuentro_id: str) -> str:
    return f"{organization_id}:{encuentro_id}"


class AnswerRepository(DocumentRepository[Answer]):
    collection_name = ANSWERS

    def to_document(self, entity: Answer) -> Document:
        return {**entity.to_dict(), "_id": answer_id(*entity.key)}

    def from_document(self, doc: Document) -> Answer:
        return Answer.from_dict(doc)

    async def of_organization(self, organization_id: str) -> list[Answer]:
        found = self.collection.find({"organization_id": organization_id})
        return [self.entity_of(doc) async for doc in found]

    async def that_can_match(self, answers: Iterable[Answer]) -> list[Answer]:
        """Answers whose offers serve one of these needs or whose needs these offers serve
        (a filtered read: on FerretDB a scan of the answers; on MongoDB two multikey indexes)."""
        offers = sorted({o for a in answers for n in a.needs for o in CATEGORY_FIT.get(n, ())})
        needs = sorted({n for a in answers for o in a.offers for n in NEEDS_SERVED.get(o, ())})
        found = self.collection.find(
            {"$or": [{"offers": {"$in": offers}}, {"needs": {"$in": needs}}]}
        )
        return [self.entity_of(doc) async for doc in found]


class StoredMatch(BaseModel):
    """A match as kept and listed (the contract's fields plus status and filters)."""

    id: str
    need: dict[str, str]
    offer: dict[str, str]
    score: float
    reasons: list[str]
    status: str  # active, withdrawn
    organization_ids: list[str]
    encuentro_ids: list[str]
    macrozones: list[str]
    regions: list[str]
    found_at: UtcDatetime
    withdrawn_at: UtcDatetime | None = None

    @classmethod
    def of(
        cls, match: Match, macrozones: list[str], regions: list[str], now: datetime
    ) -> StoredMatch:
        data = match.to_dict()
        return cls(
            id=match.match_id,
            need=data["need"],
            offer=data["offer"],
            score=match.score,
            reasons=data["reasons"],
            status="active",
            organization_ids=sorted({match.need.organization_id, match.offer.organization_id}),
            encuentro_ids=sorted({match.need.encuentro_id, match.offer.encuentro_id}),
            macrozones=macrozones,
            regions=regions,
            found_at=now,
        )


class MatchRepository(DocumentRepository[StoredMatch]):
    collection_name = MATCHES

    def to_document(self, entity: StoredMatch) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> StoredMatch:
        return StoredMatch.model_validate({**doc, "id": doc["_id"]})

    async def active(
        self,
        *,
        organization_id: str | None = None,
        encuentro_id: str | None = None,
        macrozone: str | None = None,
        region: str | None = None,
    ) -> list[StoredMatch]:
        query: Document = {"status": "active"}
        for field, value in (
            ("organization_ids", organization_id),
            ("encuentro_ids", encuentro_id),
            ("macrozones", macrozone),
            ("regions", region),
        ):
            if value is not None:
                query[field] = value
        found = self.collection.find(query).sort([("found_at", 1), ("_id", 1)])
        return [self.entity_of(doc) async for doc in found]

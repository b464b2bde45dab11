"""Matches between organisations' needs and other organisations' offers: public, with why."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.metrics.api.deps import UoW
from shared.pagination import Page
from shared.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["cruces"])

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class MatchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: Id | None = None
    encuentro_id: Id | None = None
    macrozone: Literal["norte_centro", "centro_sur", "sur_austral"] | None = None
    region: Annotated[str, StringConstraints(pattern=r"^CL-[A-Z]{2}$")] | None = None


class Side(BaseModel):
    organization_id: str
    category: str
    encuentro_id: str


class MatchView(BaseModel):
    id: str
    need: Side
    offer: Side
    score: float
    reasons: list[str]


@router.get(
    "/matches",
    summary="Necesidades de una organización que otras pueden cubrir con sus ofertas",
    responses=problem_responses(422),
)
async def list_matches(query: Annotated[MatchQuery, Query()], uow: UoW) -> Page[MatchView]:
    found = await uow.matches.active(
        organization_id=query.organization_id,
        encuentro_id=query.encuentro_id,
        macrozone=query.macrozone,
        region=query.region,
    )
    items = [MatchView.model_validate(m.model_dump()) for m in found]
    return Page[MatchView](items=items, next_cursor=None)

"""The ecosystem's statistics: public, computed from events only, counts beside every share."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.metrics import application
from services.metrics.api.deps import UoW, today
from services.metrics.domain.encuentro_stats import CommitmentFigures, EncuentroStatistics
from services.metrics.domain.registry_profile import (
    DIMENSIONS,
    NOT_WITHDRAWN,
    Dimension,
    ProfileQuery,
    RegistryProfile,
)
from shared.fields import Day
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/stats", tags=["estadísticas"])

Status = Literal["pending", "active", "suspended", "withdrawn"]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class RegistryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Dimension = Field(default="sector", description=f"Uno de: {', '.join(DIMENSIONS)}.")
    call_id: Id | None = None
    registered_from: Day | None = None
    registered_to: Day | None = None
    status: Status | None = Field(
        default=None, description="Por omisión, toda organización registrada no retirada."
    )


@router.get(
    "/registry",
    summary="Perfil del registro por sector, macrozona, alcance, rol, tema… (cifras y %)",
    responses=problem_responses(422),
)
async def registry_profile(query: Annotated[RegistryQuery, Query()], uow: UoW) -> RegistryProfile:
    statuses = [query.status] if query.status is not None else list(NOT_WITHDRAWN)
    return await application.registry_profile(
        uow,
        ProfileQuery(
            by=query.by,
            statuses=statuses,
            call_id=query.call_id,
            registered_from=query.registered_from,
            registered_to=query.registered_to,
        ),
    )


@router.get(
    "/encuentros/{encuentro_id}",
    summary="Cifras de un encuentro: inscritos, participaciones, sectores, necesidades, "
    "satisfacción y compromisos",
    responses=problem_responses(404),
)
async def encuentro_statistics(encuentro_id: str, uow: UoW) -> EncuentroStatistics:
    return await application.encuentro_statistics(uow, encuentro_id, today())


class CycleStatistics(EncuentroStatistics):
    encuentros: int


@router.get(
    "/cycles/{cycle}",
    summary="Las mismas cifras sobre todos los encuentros de un ciclo",
    responses=problem_responses(404),
)
async def cycle_statistics(cycle: str, uow: UoW) -> CycleStatistics:
    count, figures = await application.cycle_statistics(uow, cycle, today())
    return CycleStatistics(encuentros=count, **figures.model_dump())


class CommitmentsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    macrozone: Literal["norte_centro", "centro_sur", "sur_austral"] | None = None
    region: Annotated[str, StringConstraints(pattern=r"^CL-[A-Z]{2}$")] | None = None


class RegionCommitments(BaseModel):
    region: str
    figures: CommitmentFigures


class CommitmentStatistics(BaseModel):
    total: CommitmentFigures
    regions: list[RegionCommitments]


@router.get(
    "/commitments",
    summary="Compromisos por región y estado, cumplidos y vencidos",
    responses=problem_responses(422),
)
async def commitment_statistics(
    query: Annotated[CommitmentsQuery, Query()], uow: UoW
) -> CommitmentStatistics:
    total, regions = await application.commitment_statistics(
        uow, query.macrozone, query.region, today()
    )
    return CommitmentStatistics(
        total=total,
        regions=[RegionCommitments(region=r, figures=f) for r, f in regions.items()],
    )

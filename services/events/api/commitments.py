"""Commitments per region: staff record them at an encuentro; staff or the responsible
organisation follow them up; anyone reads them (no personal data in them)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.events import application
from services.events.api.deps import Caller, Staff, UoW, now
from services.events.domain.commitments import Commitment
from services.events.domain.forms import (
    CommitmentInput,
    CommitmentStatus,
    CommitmentStatusInput,
    OrganizationId,
)
from services.events.domain.views import CommitmentView, commitment_view
from services.events.storage.commitments import CommitmentQuery
from shared.auth import unauthorized
from shared.calendar import SANTIAGO as SANTIAGO_TZ
from shared.cursors import NumberedCursor, decode_instant, encode_instant
from shared.errors import Forbidden
from shared.openapi import KEY_OPTIONAL, KEY_REQUIRED, link_to, links, merge
from shared.pagination import Page
from shared.problems import problem_responses
from shared.values import MacrozoneId, RegionCode

router = APIRouter(prefix="/v1", tags=["compromisos"])

_AFTER_TAKING = links(
    201,
    compromiso=link_to(
        "PATCH", "/v1/commitments/{commitment_id}", commitment_id="$response.body#/id"
    ),
)


class CommitmentListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    macrozone: MacrozoneId | None = None
    region: RegionCode | None = None
    status: CommitmentStatus | None = None
    encuentro_id: OrganizationId | None = None
    organization_id: OrganizationId | None = None
    overdue: bool | None = Field(default=None, description="true: solo los vencidos.")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: NumberedCursor | None = None


def today() -> date:
    """Due dates are days in Chile."""
    return datetime.now(UTC).astimezone(SANTIAGO_TZ).date()


@router.post(
    "/encuentros/{encuentro_id}/commitments",
    status_code=201,
    summary="El equipo registra un compromiso de una región del encuentro",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_TAKING),
)
async def take(encuentro_id: str, body: CommitmentInput, uow: UoW, staff: Staff) -> CommitmentView:
    commitment = await application.take(uow, encuentro_id, body, staff.actor(), now())
    return commitment_view(commitment, today())


@router.patch(
    "/commitments/{commitment_id}",
    summary="El equipo o la organización responsable actualiza el estado (queda en history)",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def follow_up(
    commitment_id: str, body: CommitmentStatusInput, uow: UoW, caller: Caller
) -> CommitmentView:
    if caller.kind == "anonymous":
        raise unauthorized()
    if caller.kind not in ("staff", "organization"):
        raise Forbidden("Solo el equipo o la organización responsable actualizan el compromiso.")

    def may_change(commitment: Commitment) -> bool:
        return caller.is_staff or caller.owns(commitment.responsible_organization_id)

    commitment = await application.follow_up(
        uow, commitment_id, body, caller.actor(), may_change=may_change, now=now()
    )
    return commitment_view(commitment, today())


@router.get(
    "/commitments",
    summary="Compromisos por región y estado, con los vencidos (públicos)",
    responses=problem_responses(401, 422),
    openapi_extra=KEY_OPTIONAL,
)
async def list_commitments(
    query: Annotated[CommitmentListQuery, Query()], uow: UoW, caller: Caller
) -> Page[CommitmentView]:
    after = None
    if query.cursor is not None:
        after = decode_instant(query.cursor)
        if after is None:  # after the last instant there is
            return Page[CommitmentView](items=[], next_cursor=None)
    day = today()
    rows = await uow.commitments.find(
        CommitmentQuery(
            macrozone=query.macrozone,
            region=query.region,
            status=query.status,
            encuentro_id=query.encuentro_id,
            organization_id=query.organization_id,
            overdue_on=day if query.overdue else None,
            after=after,
            limit=query.limit + 1,
        )
    )
    read = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:  # the next page starts after the last one read
        next_cursor = encode_instant(read[-1].created_at, read[-1].id)
    if query.overdue is False:  # filtered here: a page may hold fewer, never skip any
        read = [c for c in read if not c.overdue(day)]
    return Page[CommitmentView](
        items=[commitment_view(c, day) for c in read], next_cursor=next_cursor
    )

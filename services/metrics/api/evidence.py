"""Published evidence of results: approved measurements, newest first, for funders and anyone.

What is listed is what went out on the evidence topic (`EvidencePublished`), so a funder's
feed and this list never disagree; it follows an approval within a moment.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.metrics.api.deps import UoW
from services.metrics.domain.programme_forms import EvidenceListQuery
from services.metrics.domain.programme_views import EvidenceView, evidence_view
from services.metrics.storage.evidence import EvidenceQuery
from shared.cursors import decode_instant, encode_instant
from shared.pagination import Page
from shared.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["evidencia"])


@router.get(
    "/evidence",
    summary="Evidencia publicada (mediciones aprobadas), de la más reciente a la más antigua",
    responses=problem_responses(422),
)
async def list_evidence(
    query: Annotated[EvidenceListQuery, Query()], uow: UoW
) -> Page[EvidenceView]:
    # Newest first: a cursor past the last instant there is comes before every row.
    before = decode_instant(query.cursor) if query.cursor is not None else None
    rows = await uow.evidence.find(
        EvidenceQuery(
            theme=query.theme,
            region=query.region,
            macrozone=query.macrozone,
            organization_id=query.organization_id,
            since=query.since,
            before=before,
            limit=query.limit + 1,
        )
    )
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit and page:
        next_cursor = encode_instant(page[-1].published_at, page[-1].evidence_id)
    return Page[EvidenceView](items=[evidence_view(e) for e in page], next_cursor=next_cursor)

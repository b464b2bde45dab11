"""Published evidence of results: approved measurements, newest first, for funders and anyone.

What is listed is what went out on the evidence topic (`EvidencePublished`), so a funder's
feed and this list never disagree; it follows an approval within a moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.metrics.api.deps import UoW
from services.metrics.domain.programme_forms import EvidenceListQuery
from services.metrics.domain.programme_views import EvidenceView, evidence_view
from services.metrics.storage.evidence import EvidenceQuery
from shared.pagination import InvalidCursor, Page, decode_cursor, encode_cursor
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
    before = None
    if query.cursor is not None:
        published_at, last_id = decode_cursor(query.cursor)
        try:
            before = (datetime.fromisoformat(published_at), last_id)
        except ValueError:
            raise InvalidCursor(
                "El cursor no es válido; use el valor next_cursor de la respuesta anterior.",
                errors=[{"field": "cursor", "message": "Cursor desconocido."}],
            ) from None
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
        next_cursor = encode_cursor(page[-1].published_at.isoformat(), page[-1].evidence_id)
    return Page[EvidenceView](items=[evidence_view(e) for e in page], next_cursor=next_cursor)

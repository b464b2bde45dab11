"""Encuentros: staff create, change and move them through their lifecycle; anyone lists them
(published and later) and subscribes to their calendar."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.events import application
from services.events.api.deps import Caller, Settings, Staff, UoW, now
from services.events.domain.encuentro import Encuentro
from services.events.domain.forms import Cycle, EncuentroCreate, EncuentroPatch, StatusChange
from services.events.domain.lifecycle import EncuentroStatus
from services.events.domain.views import Counts, EncuentroView, encuentro_view
from services.events.storage.encuentros import EncuentroQuery
from shared.calendar import MEDIA_TYPE, CalendarEntry, render_calendar
from shared.cursors import NumberedCursor, decode_instant, encode_instant
from shared.fields import Timestamp
from shared.openapi import KEY_OPTIONAL, KEY_REQUIRED, link_to, links, merge
from shared.pagination import Page
from shared.principals import Principal
from shared.problems import problem_responses
from shared.reference.vocabulary import Theme
from shared.values import MacrozoneId

router = APIRouter(prefix="/v1", tags=["encuentros"])

_ENCUENTRO = "/v1/encuentros/{encuentro_id}"
_BY_ID = {"encuentro_id": "$response.body#/id"}
_AFTER_CREATION = links(
    201,
    encuentro=link_to("GET", _ENCUENTRO, **_BY_ID),
    cambiar=link_to("PATCH", _ENCUENTRO, **_BY_ID),
    estado=link_to("POST", _ENCUENTRO + "/status", **_BY_ID),
)
# What each state opens: the next step, registration (published), commitments (under way).
_AFTER_A_STEP = links(
    200,
    encuentro=link_to("GET", _ENCUENTRO, **_BY_ID),
    estado=link_to("POST", _ENCUENTRO + "/status", **_BY_ID),
    inscribir=link_to("POST", _ENCUENTRO + "/registrations", **_BY_ID),
    compromiso=link_to("POST", _ENCUENTRO + "/commitments", **_BY_ID),
)
PUBLIC_STATUSES = [str(s) for s in EncuentroStatus if s != EncuentroStatus.DRAFT]


class EncuentroCreated(EncuentroView):
    """The new encuentro (a draft)."""


class EncuentroListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    macrozone: MacrozoneId | None = None
    status: EncuentroStatus | None = None
    cycle: Cycle | None = None
    theme: Theme | None = None
    starts_from: Timestamp | None = Field(
        default=None, alias="from", description="Desde este momento (inicio del encuentro)."
    )
    starts_to: Timestamp | None = Field(
        default=None, alias="to", description="Hasta este momento (inicio del encuentro)."
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: NumberedCursor | None = None


class CalendarQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    macrozone: MacrozoneId | None = None
    cycle: Cycle | None = None
    theme: Theme | None = None


def sees_online_link(principal: Principal, encuentro: Encuentro) -> bool:
    if principal.is_staff:
        return True
    return principal.kind == "organization" and encuentro.has_registration_of(principal.id or "")


def view_for(principal: Principal, encuentro: Encuentro) -> EncuentroView:
    return encuentro_view(
        encuentro, online_link=sees_online_link(principal, encuentro), staff=principal.is_staff
    )


@router.post(
    "/encuentros",
    status_code=201,
    summary="El equipo crea un encuentro (borrador); sin agenda, la estándar",
    responses=problem_responses(401, 403, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_CREATION),
)
async def create_encuentro(body: EncuentroCreate, uow: UoW, staff: Staff) -> EncuentroCreated:
    encuentro = await application.create_encuentro(uow, body, staff.actor(), now())
    return EncuentroCreated.model_validate(view_for(staff, encuentro).model_dump())


@router.get(
    "/encuentros",
    summary="Encuentros publicados y posteriores (el equipo ve también los borradores)",
    responses=problem_responses(401, 422),
    openapi_extra=KEY_OPTIONAL,
)
async def list_encuentros(
    query: Annotated[EncuentroListQuery, Query()], uow: UoW, caller: Caller
) -> Page[EncuentroView]:
    statuses = PUBLIC_STATUSES if not caller.is_staff else None
    if query.status is not None:
        statuses = [query.status] if statuses is None or query.status in statuses else []
    after = None
    if query.cursor is not None:
        after = decode_instant(query.cursor)
        if after is None:  # after the last instant there is
            return Page[EncuentroView](items=[], next_cursor=None)
    rows = await uow.encuentros.summaries(
        EncuentroQuery(
            macrozone=query.macrozone,
            statuses=statuses,
            cycle=query.cycle,
            theme=query.theme,
            starts_from=query.starts_from,
            starts_to=query.starts_to,
            after=after,
            limit=query.limit + 1,
        )
    )
    page = rows[: query.limit]
    items = [_summary_view(caller, encuentro, counts) for encuentro, counts in page]
    next_cursor = None
    if len(rows) > query.limit and page:
        last = page[-1][0]
        next_cursor = encode_instant(last.starts_at, last.id)
    return Page[EncuentroView](items=items, next_cursor=next_cursor)


def _summary_view(principal: Principal, encuentro: Encuentro, counts: Counts) -> EncuentroView:
    view = encuentro_view(encuentro, online_link=principal.is_staff, staff=False)
    return view.model_copy(update={"counts": counts})


@router.get(
    "/encuentros/{encuentro_id}",
    summary="Un encuentro con sus cifras; el enlace en línea, solo para el equipo y las "
    "organizaciones con personas inscritas",
    responses=problem_responses(401, 404),
    openapi_extra=KEY_OPTIONAL,
)
async def get_encuentro(encuentro_id: str, uow: UoW, caller: Caller) -> EncuentroView:
    encuentro = (await application.load_encuentro(uow, encuentro_id)).entity
    application.require_visible(encuentro, staff=caller.is_staff)
    return view_for(caller, encuentro)


@router.patch(
    "/encuentros/{encuentro_id}",
    summary="El equipo cambia el encuentro; más cupos promueven desde la lista de espera",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def update_encuentro(
    encuentro_id: str, body: EncuentroPatch, uow: UoW, staff: Staff
) -> EncuentroView:
    encuentro = await application.update_encuentro(uow, encuentro_id, body, staff.actor(), now())
    return view_for(staff, encuentro)


@router.post(
    "/encuentros/{encuentro_id}/status",
    summary="El equipo mueve el encuentro en su ciclo (publicar invita; resultados se envían)",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_A_STEP),
)
async def change_status(
    encuentro_id: str, body: StatusChange, uow: UoW, staff: Staff
) -> EncuentroView:
    encuentro = await application.change_status(uow, encuentro_id, body, staff.actor(), now())
    return view_for(staff, encuentro)


# --- calendar -------------------------------------------------------------------------------------


def calendar_entry(encuentro: Encuentro, public_url: str) -> CalendarEntry:
    return CalendarEntry(
        encuentro_id=encuentro.id,
        title=encuentro.title,
        description=encuentro.description,
        starts_at=encuentro.starts_at,
        ends_at=encuentro.ends_at,
        cancelled=encuentro.status == EncuentroStatus.CANCELLED,
        sequence=encuentro.sequence,
        url=f"{public_url.rstrip('/')}/v1/encuentros/{encuentro.id}",
        location=encuentro.venue,
        online=encuentro.mode != "presencial",
        created_at=encuentro.created_at,
        updated_at=encuentro.updated_at,
    )


_ICS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "iCalendar"}
}


@router.get(
    "/calendar.ics",
    summary="Calendario (iCalendar) de los encuentros publicados",
    response_class=Response,
    responses={**_ICS, **problem_responses(422)},
)
async def calendar(
    query: Annotated[CalendarQuery, Query()], uow: UoW, settings: Settings
) -> Response:
    rows = await uow.encuentros.summaries(
        EncuentroQuery(
            macrozone=query.macrozone,
            statuses=PUBLIC_STATUSES,
            cycle=query.cycle,
            theme=query.theme,
        )
    )
    entries = [calendar_entry(encuentro, settings.public_url) for encuentro, _ in rows]
    return Response(render_calendar(entries, name="Encuentros Articula"), media_type=MEDIA_TYPE)


@router.get(
    "/encuentros/{encuentro_id}/calendar.ics",
    summary="Un encuentro como evento de calendario (iCalendar)",
    response_class=Response,
    responses={**_ICS, **problem_responses(404)},
)
async def encuentro_calendar(encuentro_id: str, uow: UoW, settings: Settings) -> Response:
    encuentro = (await application.load_encuentro(uow, encuentro_id)).entity
    application.require_visible(encuentro, staff=False)
    body = render_calendar([calendar_entry(encuentro, settings.public_url)], name=encuentro.title)
    return Response(body, media_type=MEDIA_TYPE)

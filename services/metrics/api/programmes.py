"""Programmes, their indicators, measurements, work plans and IATI export.

Who: an organisation registers its programmes and is the only one that changes them (defines
indicators, submits measurements, sets the work plan); staff review measurements; anyone reads
(results are public, "cuenta pública"), and the organisation and staff also see measurements
not yet approved. A caller's organisation is its key's (`caller.id` of an `organization`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.metrics import programmes
from services.metrics.api.deps import UoW, now
from services.metrics.domain.programme_forms import (
    IndicatorInput,
    MeasurementInput,
    ProgrammeCreate,
    ProgrammeListQuery,
    ReviewInput,
    WorkPlanInput,
)
from services.metrics.domain.programme_views import (
    IndicatorView,
    MeasurementView,
    ProgrammeSummaryView,
    ProgrammeView,
    WorkPlanView,
    indicator_view,
    measurement_view,
    programme_summary_view,
    programme_view,
    work_plan_view,
)
from services.metrics.storage.programmes import ProgrammeQuery
from shared.access import Caller, Staff
from shared.auth import unauthorized
from shared.cursors import decode_instant, encode_instant
from shared.openapi import KEY_OPTIONAL, KEY_REQUIRED, link_to, links, merge
from shared.pagination import Page
from shared.principals import Principal
from shared.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["programas"])

_ID = "$response.body#/id"
_AFTER_CREATING = links(
    201,
    programa=link_to("GET", "/v1/programmes/{programme_id}", programme_id=_ID),
    indicador=link_to("POST", "/v1/programmes/{programme_id}/indicators", programme_id=_ID),
    plan=link_to("PUT", "/v1/programmes/{programme_id}/work-plan", programme_id=_ID),
    iati=link_to("GET", "/v1/programmes/{programme_id}/iati.xml", programme_id=_ID),
)
_AFTER_DEFINING = links(
    201,
    indicador=link_to("GET", "/v1/indicators/{indicator_id}", indicator_id=_ID),
    medicion=link_to("POST", "/v1/indicators/{indicator_id}/measurements", indicator_id=_ID),
)
_AFTER_SUBMITTING = links(
    201,
    revision=link_to("POST", "/v1/measurements/{measurement_id}/review", measurement_id=_ID),
)
_XML = "application/xml"


def _signed_in(caller: Principal) -> Principal:
    if caller.kind == "anonymous":
        raise unauthorized()
    return caller


@router.post(
    "/programmes",
    status_code=201,
    summary="Una organización registra un programa con su teoría de cambio",
    responses=problem_responses(401, 403, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_CREATING),
)
async def create_programme(body: ProgrammeCreate, uow: UoW, caller: Caller) -> ProgrammeView:
    programme = await programmes.create_programme(uow, body, _signed_in(caller), now())
    return programme_view(programme)


@router.get(
    "/programmes",
    summary="Programas (públicos), por organización, tema o región",
    responses=problem_responses(422),
)
async def list_programmes(
    query: Annotated[ProgrammeListQuery, Query()], uow: UoW
) -> Page[ProgrammeSummaryView]:
    after = None
    if query.cursor is not None:
        after = decode_instant(query.cursor)
        if after is None:  # after the last instant there is
            return Page[ProgrammeSummaryView](items=[], next_cursor=None)
    rows = await uow.programmes.summaries(
        ProgrammeQuery(
            organization_id=query.organization_id,
            theme=query.theme,
            region=query.region,
            after=after,
            limit=query.limit + 1,
        )
    )
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit and page:
        next_cursor = encode_instant(page[-1].created_at, page[-1].id)
    return Page[ProgrammeSummaryView](
        items=[programme_summary_view(p) for p in page], next_cursor=next_cursor
    )


@router.get(
    "/programmes/{programme_id}",
    summary="Un programa con sus indicadores, su valor actual y su avance",
    responses=problem_responses(404),
)
async def get_programme(programme_id: str, uow: UoW) -> ProgrammeView:
    return programme_view((await programmes.load(uow, programme_id)).entity)


@router.post(
    "/programmes/{programme_id}/indicators",
    status_code=201,
    summary="La organización del programa define un indicador con línea de base y meta",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_DEFINING),
)
async def define_indicator(
    programme_id: str, body: IndicatorInput, uow: UoW, caller: Caller
) -> IndicatorView:
    programme, indicator = await programmes.define_indicator(
        uow, programme_id, body, _signed_in(caller), now()
    )
    return indicator_view(programme, indicator, insider=True)


@router.get(
    "/indicators/{indicator_id}",
    summary="Un indicador con su valor actual, su avance y sus mediciones aprobadas",
    description="La organización del programa y el equipo ven además las mediciones por "
    "revisar y las rechazadas (`unpublished_measurements`).",
    responses=problem_responses(401, 404),
    openapi_extra=KEY_OPTIONAL,
)
async def get_indicator(indicator_id: str, uow: UoW, caller: Caller) -> IndicatorView:
    programme, indicator = await programmes.programme_of_indicator(uow, indicator_id)
    insider = caller.is_staff or caller.owns(programme.organization_id)
    return indicator_view(programme, indicator, insider=insider)


@router.post(
    "/indicators/{indicator_id}/measurements",
    status_code=201,
    summary="La organización del programa informa una medición; el equipo la revisa",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_SUBMITTING),
)
async def submit_measurement(
    indicator_id: str, body: MeasurementInput, uow: UoW, caller: Caller
) -> MeasurementView:
    programme, measurement = await programmes.submit_measurement(
        uow, indicator_id, body, _signed_in(caller), now()
    )
    return measurement_view(programme, measurement)


@router.post(
    "/measurements/{measurement_id}/review",
    summary="El equipo aprueba (se publica como evidencia) o rechaza una medición enviada",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def review_measurement(
    measurement_id: str, body: ReviewInput, uow: UoW, staff: Staff
) -> MeasurementView:
    programme, measurement = await programmes.review_measurement(
        uow, measurement_id, body, staff, now()
    )
    return measurement_view(programme, measurement)


@router.put(
    "/programmes/{programme_id}/work-plan",
    summary="La organización del programa reemplaza su plan de trabajo por ámbitos",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=KEY_REQUIRED,
)
async def set_work_plan(
    programme_id: str, body: WorkPlanInput, uow: UoW, caller: Caller
) -> WorkPlanView:
    programme = await programmes.set_work_plan(uow, programme_id, body, _signed_in(caller), now())
    return work_plan_view(programme)


@router.get(
    "/programmes/{programme_id}/work-plan",
    summary="Cobertura y cumplimiento del plan de trabajo por ámbito y en total",
    responses=problem_responses(404),
)
async def get_work_plan(programme_id: str, uow: UoW) -> WorkPlanView:
    return work_plan_view((await programmes.load(uow, programme_id)).entity)


@router.get(
    "/programmes/{programme_id}/iati.xml",
    summary="El programa como actividad IATI 2.03, con resultados, indicadores y mediciones",
    response_class=Response,
    responses={
        200: {
            "description": "Un documento `iati-activities` (IATI 2.03) con una actividad.",
            "content": {_XML: {"schema": {"type": "string"}}},
        },
        **problem_responses(404, 503),
    },
)
async def get_iati(programme_id: str, uow: UoW) -> Response:
    document = await programmes.iati_xml(uow, programme_id, now())
    return Response(document, media_type=_XML)

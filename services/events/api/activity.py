"""During and after the encuentro: rounds of small groups and their records, needs and offers,
and the satisfaction survey."""

from __future__ import annotations

from fastapi import APIRouter

from services.events import application
from services.events.api.deps import Caller, Staff, UoW, now, organization_of
from services.events.domain.activity import NEEDS_OFFERS_PUBLIC
from services.events.domain.forms import GroupRecordInput, NeedsOffersInput, RoundInput, SurveyInput
from services.events.domain.views import NeedsOffersView, RoundView, SurveyReceipt, round_view
from shared.auth import unauthorized
from shared.errors import Forbidden, InvalidTransition, NotFound
from shared.openapi import KEY_OPTIONAL, KEY_REQUIRED, link_to, links, merge
from shared.pagination import Page
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/encuentros/{encuentro_id}", tags=["durante el encuentro"])

_ROUNDS = "/v1/encuentros/{encuentro_id}/rounds"
_AFTER_FORMING = links(
    201,
    rondas=link_to("GET", _ROUNDS, encuentro_id="$request.path.encuentro_id"),
    registro_del_primer_grupo=link_to(
        "PUT",
        _ROUNDS + "/{round_id}/groups/{number}/record",
        encuentro_id="$request.path.encuentro_id",
        round_id="$response.body#/id",
        number="$response.body#/groups/0/number",
    ),
)


@router.post(
    "/rounds",
    status_code=201,
    summary="El equipo forma grupos de unas group_size personas con quienes hicieron check-in",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_FORMING),
)
async def form_round(encuentro_id: str, body: RoundInput, uow: UoW, staff: Staff) -> RoundView:
    return round_view(await application.form_round(uow, encuentro_id, body, now()))


@router.get(
    "/rounds",
    summary="Rondas, grupos y sus registros: el equipo y las organizaciones participantes",
    responses=problem_responses(401, 403, 404),
    openapi_extra=KEY_REQUIRED,
)
async def list_rounds(encuentro_id: str, uow: UoW, caller: Caller) -> Page[RoundView]:
    if caller.kind == "anonymous":
        raise unauthorized()
    encuentro = (await application.load_encuentro(uow, encuentro_id)).entity
    if not encuentro.public and not caller.is_staff:
        raise NotFound("El encuentro no existe.")  # a draft is staff's, as everywhere
    if not (caller.is_staff or encuentro.has_registration_of(caller.id or "")):
        raise Forbidden("Las rondas son del equipo y de las organizaciones participantes.")
    return Page[RoundView](items=[round_view(r) for r in encuentro.rounds], next_cursor=None)


@router.put(
    "/rounds/{round_id}/groups/{number}/record",
    summary="El registro propio del grupo: el equipo, o una persona del grupo con su código",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_OPTIONAL,
)
async def write_group_record(
    encuentro_id: str, round_id: str, number: int, body: GroupRecordInput, uow: UoW, caller: Caller
) -> RoundView:
    round_ = await application.write_group_record(
        uow, encuentro_id, round_id, number, body, by_staff=caller.is_staff, now=now()
    )
    return round_view(round_)


@router.put(
    "/needs-offers",
    summary="Necesidades y ofertas de una organización inscrita (reemplaza la anterior)",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def state_needs_offers(
    encuentro_id: str, body: NeedsOffersInput, uow: UoW, caller: Caller
) -> NeedsOffersView:
    if caller.kind == "anonymous":
        raise unauthorized()
    organization_id = organization_of(caller, None) if not caller.is_staff else _staff_refused()
    answer = await application.state_needs_offers(uow, encuentro_id, organization_id, body, now())
    names = await application.organization_names(uow, [organization_id])
    return NeedsOffersView(organization_name=names.get(organization_id), **answer.model_dump())


def _staff_refused() -> str:
    raise Forbidden("Cada organización declara sus propias necesidades y ofertas.")


@router.get(
    "/needs-offers",
    summary="Necesidades y ofertas de cada organización, públicas una vez cerrado el encuentro",
    responses=problem_responses(401, 404, 409),
    openapi_extra=KEY_OPTIONAL,
)
async def list_needs_offers(encuentro_id: str, uow: UoW, caller: Caller) -> Page[NeedsOffersView]:
    encuentro = (await application.load_encuentro(uow, encuentro_id)).entity
    if not encuentro.public and not caller.is_staff:
        raise NotFound("El encuentro no existe.")  # a draft is staff's, as everywhere
    if encuentro.status not in NEEDS_OFFERS_PUBLIC and not caller.is_staff:
        raise InvalidTransition(
            "Las necesidades y ofertas se publican cuando el encuentro se cierra.",
            current=str(encuentro.status),
            allowed=[str(s) for s in NEEDS_OFFERS_PUBLIC],
        )
    answers = sorted(encuentro.needs_offers, key=lambda n: n.organization_id)
    names = await application.organization_names(uow, [n.organization_id for n in answers])
    items = [
        NeedsOffersView(organization_name=names.get(n.organization_id), **n.model_dump())
        for n in answers
    ]
    return Page[NeedsOffersView](items=items, next_cursor=None)


@router.post(
    "/survey-responses",
    status_code=201,
    summary="Encuesta de satisfacción de quien hizo check-in, con su código (una vez)",
    responses=problem_responses(403, 404, 409, 422),
)
async def answer_survey(encuentro_id: str, body: SurveyInput, uow: UoW) -> SurveyReceipt:
    response = await application.answer_survey(uow, encuentro_id, body, now())
    return SurveyReceipt(id=response.id, answered_at=response.answered_at)

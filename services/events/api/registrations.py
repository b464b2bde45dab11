"""Registrations and check-in: organisations register their people, staff check them in.

Registrations hold personal data: only staff (all, with the personal code) and each
organisation (its own) ever see them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.events import application
from services.events.api.deps import Caller, Staff, UoW, now, organization_of
from services.events.domain.forms import CheckinInput, RegistrationInput
from services.events.domain.views import (
    CheckinView,
    RegistrationView,
    StaffRegistrationView,
    registration_view,
    staff_registration_view,
)
from shared.access import require_owner_or_staff
from shared.auth import unauthorized
from shared.cursors import NumberedCursor, decode_number, encode_number
from shared.errors import Forbidden
from shared.events.registry import Actor
from shared.openapi import KEY_REQUIRED, link_to, links, merge
from shared.pagination import Page
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/encuentros/{encuentro_id}", tags=["inscripciones"])

_REGISTRATION = "/v1/encuentros/{encuentro_id}/registrations/{registration_id}"
_THIS_ONE = {
    "encuentro_id": "$request.path.encuentro_id",
    "registration_id": "$response.body#/id",
}
_AFTER_REGISTERING = links(
    201,
    cancelar=link_to("DELETE", _REGISTRATION, **_THIS_ONE),
    borrar_datos=link_to("POST", _REGISTRATION + "/erasure", **_THIS_ONE),
)


class RegistrationListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=100, ge=1, le=500)
    cursor: NumberedCursor | None = None


@router.post(
    "/registrations",
    status_code=201,
    summary="Una persona se inscribe por una organización (el equipo indica organization_id)",
    response_model=StaffRegistrationView | RegistrationView,
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_REGISTERING),
)
async def register(
    encuentro_id: str, body: RegistrationInput, uow: UoW, caller: Caller
) -> RegistrationView:
    if caller.kind == "anonymous":
        raise unauthorized()
    organization_id = organization_of(caller, body.organization_id)
    encuentro, registration = await application.register(
        uow, encuentro_id, body.participant, organization_id, now(), staff=caller.is_staff
    )
    return registration_view(encuentro, registration, staff=caller.is_staff)


@router.get(
    "/registrations",
    summary="Inscripciones con datos personales: el equipo todas, cada organización las suyas",
    response_model=Page[StaffRegistrationView] | Page[RegistrationView],
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=KEY_REQUIRED,
)
async def list_registrations(
    encuentro_id: str,
    query: Annotated[RegistrationListQuery, Query()],
    uow: UoW,
    caller: Caller,
) -> Page[StaffRegistrationView] | Page[RegistrationView]:
    if caller.kind == "anonymous":
        raise unauthorized()
    if not (caller.is_staff or caller.kind == "organization"):
        raise Forbidden("Las inscripciones son solo para el equipo y cada organización.")
    encuentro = (await application.load_encuentro(uow, encuentro_id)).entity
    application.require_visible(encuentro, staff=caller.is_staff)
    rows = [r for r in encuentro.registrations if caller.is_staff or r.organization_id == caller.id]
    if query.cursor is not None:  # in order of arrival, after the last one shown
        seq, last_id = decode_number(query.cursor)
        rows = [r for r in rows if (r.seq, r.id) > (seq, last_id)]
    page = rows[: query.limit]
    next_cursor = encode_number(page[-1].seq, page[-1].id) if len(rows) > query.limit else None
    if caller.is_staff:
        staff_items = [staff_registration_view(encuentro, r) for r in page]
        return Page[StaffRegistrationView](items=staff_items, next_cursor=next_cursor)
    items = [registration_view(encuentro, r, staff=False) for r in page]
    return Page[RegistrationView](items=items, next_cursor=next_cursor)


@router.delete(
    "/registrations/{registration_id}",
    summary="Cancelar una inscripción (la organización la suya, o el equipo); promueve al "
    "primero de la lista de espera",
    response_model=StaffRegistrationView | RegistrationView,
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra=KEY_REQUIRED,
)
async def cancel(
    encuentro_id: str, registration_id: str, uow: UoW, caller: Caller
) -> RegistrationView:
    if caller.kind == "anonymous":
        raise unauthorized()
    encuentro, registration = await application.cancel_registration(
        uow,
        encuentro_id,
        registration_id,
        caller.actor() if caller.kind in ("organization", "staff") else _refuse(),
        lambda owner: require_owner_or_staff(owner, caller),
        now(),
    )
    return registration_view(encuentro, registration, staff=caller.is_staff)


@router.post(
    "/registrations/{registration_id}/erasure",
    summary="Borrar los datos personales de una persona inscrita (se conservan las cifras)",
    response_model=StaffRegistrationView | RegistrationView,
    responses=problem_responses(401, 403, 404),
    openapi_extra=KEY_REQUIRED,
)
async def erase(
    encuentro_id: str, registration_id: str, uow: UoW, caller: Caller
) -> RegistrationView:
    if caller.kind == "anonymous":
        raise unauthorized()
    encuentro, registration = await application.erase_participant(
        uow,
        encuentro_id,
        registration_id,
        lambda owner: require_owner_or_staff(owner, caller),
        now(),
    )
    return registration_view(encuentro, registration, staff=caller.is_staff)


def _refuse() -> Actor:
    raise Forbidden("Solo una organización (con su clave) o el equipo pueden hacer esto.")


@router.post(
    "/checkins",
    summary="El equipo registra la llegada (por registration_id o code; idempotente); con "
    "participant y organization_id inscribe y registra a quien llega sin inscripción",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def check_in(encuentro_id: str, body: CheckinInput, uow: UoW, staff: Staff) -> CheckinView:
    _, registration = await application.check_in(uow, encuentro_id, body, now())
    return CheckinView(
        registration_id=registration.id,
        organization_id=registration.organization_id,
        status=registration.status,
        attended=registration.attended,
        checked_in_at=registration.checked_in_at,
    )

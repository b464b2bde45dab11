"""Registration calls ("convocatorias"): public to read, staff to schedule and change."""

from __future__ import annotations

from fastapi import APIRouter

from services.registry import application
from services.registry.api.deps import Staff, UoW, now, staff_id
from services.registry.domain.calls import (
    RegistrationCall,
    RegistrationCallCreate,
    RegistrationCallPatch,
)
from shared.openapi import KEY_REQUIRED, link_to, links, merge
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/calls", tags=["convocatorias"])

_CALL = "/v1/calls/{call_id}"
_BY_ID = {"call_id": "$response.body#/id"}
_AFTER_OPENING = links(
    201,
    convocatoria=link_to("GET", _CALL, **_BY_ID),
    cambiar=link_to("PATCH", _CALL, **_BY_ID),
    cerrar=link_to("POST", _CALL + "/closure", **_BY_ID),
)


@router.get("", summary="Convocatorias, de la más antigua a la más reciente")
async def list_calls(uow: UoW) -> list[RegistrationCall]:
    return await uow.calls.all()


@router.get("/{call_id}", summary="Una convocatoria", responses=problem_responses(404))
async def get_call(call_id: str, uow: UoW) -> RegistrationCall:
    return (await application.load_call(uow, call_id)).entity


@router.post(
    "",
    status_code=201,
    summary="El equipo abre una convocatoria con su ventana de inscripción",
    responses=problem_responses(401, 403, 409, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_OPENING),
)
async def open_call(body: RegistrationCallCreate, uow: UoW, staff: Staff) -> RegistrationCall:
    return await application.open_call(uow, body, staff_id(staff), now())


@router.patch(
    "/{call_id}",
    summary="El equipo cambia el nombre, la ventana o la exclusividad",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def update_call(
    call_id: str, body: RegistrationCallPatch, uow: UoW, staff: Staff
) -> RegistrationCall:
    return await application.update_call(uow, call_id, body, staff_id(staff), now())


@router.post(
    "/{call_id}/closure",
    summary="El equipo cierra la convocatoria antes de tiempo",
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra=KEY_REQUIRED,
)
async def close_call(call_id: str, uow: UoW, staff: Staff) -> RegistrationCall:
    return await application.close_call(uow, call_id, staff_id(staff), now())

"""Registration calls ("convocatorias"): public to read, staff to schedule and change."""

from __future__ import annotations

from fastapi import APIRouter

from services.registry.api.deps import Staff, Store, correlation_id, now, staff_id
from services.registry.domain.calls import (
    RegistrationCall,
    RegistrationCallCreate,
    RegistrationCallPatch,
)
from services.registry.domain.errors import NotFound
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


async def _load(store: Store, call_id: str) -> RegistrationCall:
    call = await store.calls.get(call_id)
    if call is None:
        raise NotFound("La convocatoria no existe.")
    return call


@router.get("", summary="Convocatorias, de la más antigua a la más reciente")
async def list_calls(store: Store) -> list[RegistrationCall]:
    return await store.calls.all()


@router.get("/{call_id}", summary="Una convocatoria", responses=problem_responses(404))
async def get_call(call_id: str, store: Store) -> RegistrationCall:
    return await _load(store, call_id)


@router.post(
    "",
    status_code=201,
    summary="El equipo abre una convocatoria con su ventana de inscripción",
    responses=problem_responses(401, 403, 409, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_OPENING),
)
async def open_call(body: RegistrationCallCreate, store: Store, staff: Staff) -> RegistrationCall:
    call, event = RegistrationCall.open(body, staff_id(staff), now(), await store.calls.all())
    await store.calls.add(call, [event], correlation_id())
    return call


@router.patch(
    "/{call_id}",
    summary="El equipo cambia el nombre, la ventana o la exclusividad",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def update_call(
    call_id: str, body: RegistrationCallPatch, store: Store, staff: Staff
) -> RegistrationCall:
    call = await _load(store, call_id)
    others = [c for c in await store.calls.all() if c.id != call_id]
    updated, events = call.update(body, staff_id(staff), now(), others)
    await store.calls.save(updated, events, correlation_id())
    return updated


@router.post(
    "/{call_id}/closure",
    summary="El equipo cierra la convocatoria antes de tiempo",
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra=KEY_REQUIRED,
)
async def close_call(call_id: str, store: Store, staff: Staff) -> RegistrationCall:
    call = await _load(store, call_id)
    closed, event = call.close(staff_id(staff), now())
    await store.calls.save(closed, [event], correlation_id())
    return closed

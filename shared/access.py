"""Who is calling, as FastAPI dependencies every service uses.

`Authorization: Bearer <key>`: the bootstrap staff key (`ARTICULA_STAFF_KEY`), else whatever
the service's authenticator says (`shared.principals`); no key is anonymous, an unknown key is
401. Routes declare what they need with `Caller`, `Staff`, or `require_owner_or_staff`.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from shared.auth import bearer_token, forbidden, same_secret, unauthorized
from shared.openapi import KEY_REQUIRED
from shared.principals import ANONYMOUS, BOOTSTRAP_STAFF_ID, Principal
from shared.problems import problem_responses
from shared.runtime import Runtime, get_runtime


async def get_principal(
    request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> Principal:
    token = bearer_token(request)
    if token is None:
        return ANONYMOUS
    staff_key = runtime.settings.staff_key
    if staff_key is not None and same_secret(token, staff_key.get_secret_value()):
        return Principal("staff", BOOTSTRAP_STAFF_ID)
    principal = await runtime.authenticator.principal_for(token)
    if principal is None:
        raise unauthorized()
    if principal.kind == "organization":
        structlog.contextvars.bind_contextvars(organization_id=principal.id)
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


async def require_staff(principal: Caller) -> Principal:
    if principal.kind == "anonymous":
        raise unauthorized()
    if not principal.is_staff:
        raise forbidden("Esta operación es solo para el equipo de la Mesa.")
    return principal


Staff = Annotated[Principal, Depends(require_staff)]


def require_owner_or_staff(organization_id: str, principal: Principal) -> None:
    if principal.kind == "anonymous":
        raise unauthorized()
    if not (principal.is_staff or principal.owns(organization_id)):
        raise forbidden("Solo la propia organización o el equipo de la Mesa pueden hacer esto.")


def staff_id(staff: Principal) -> str:
    """The id a staff decision is recorded under (staff principals always have one)."""
    assert staff.id is not None
    return staff.id


class Identity(BaseModel):
    """Whose key this is: `kind` and the organisation's or API client's id."""

    kind: str
    id: str


router = APIRouter(prefix="/v1", tags=["acceso"])


@router.get(
    "/me",
    summary="A quién pertenece la clave de API (la misma clave sirve en todos los servicios)",
    responses=problem_responses(401),
    openapi_extra=KEY_REQUIRED,
)
async def who_am_i(caller: Caller) -> Identity:
    if caller.kind == "anonymous" or caller.id is None:
        raise unauthorized()
    return Identity(kind=caller.kind, id=caller.id)

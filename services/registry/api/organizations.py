"""Self-registration, confirmation, profile, withdrawal and the public directory."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from services.registry import application
from services.registry.api.deps import (
    Caller,
    Resources,
    Staff,
    UoW,
    loaded_catalog,
    now,
    require_owner_or_staff,
    staff_id,
)
from services.registry.domain.catalog import CatalogEntry, directory_page, public_data
from services.registry.domain.directory import (
    DirectoryPage,
    DirectoryQuery,
    iter_csv,
)
from services.registry.domain.errors import NotFound
from services.registry.domain.organization import Organization
from services.registry.domain.profile import (
    ConfirmationInput,
    OrganizationCreate,
    OrganizationPatch,
    ReasonInput,
    VerificationInput,
)
from services.registry.domain.views import (
    OwnerProfile,
    PublicProfile,
    StaffProfile,
    owner_view,
    public_view_or_error,
    staff_view,
)
from shared.openapi import KEY_OPTIONAL, KEY_REQUIRED, link_to, links, merge
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/organizations", tags=["organizaciones"])

_ORG = "/v1/organizations/{organization_id}"
_BY_ID = {"organization_id": "$response.body#/id"}
# OpenAPI links: what the id an answer carries opens up. A registration is pending, which the
# public cannot read (404), so the profile is linked from the answers that make it active or
# that only staff get. Nothing links to the withdrawal (DELETE): it is final, and a tool that
# follows links would meet 410 on every operation after it.
_AFTER_REGISTRATION = links(
    201,
    actualizar=link_to("PATCH", _ORG, **_BY_ID),
    confirmar=link_to("POST", _ORG + "/confirmation", **_BY_ID),
    reenviar_confirmacion=link_to("POST", _ORG + "/confirmation-request", **_BY_ID),
    activar=link_to("POST", _ORG + "/activation", **_BY_ID),
    rotar_clave=link_to("POST", _ORG + "/api-key", **_BY_ID),
    verificar=link_to("POST", _ORG + "/verification", **_BY_ID),
    suspender=link_to("POST", _ORG + "/suspension", **_BY_ID),
    reincorporar=link_to("POST", _ORG + "/reinstatement", **_BY_ID),
)
_PROFILE_LINKS = {
    "ficha": link_to("GET", _ORG, **_BY_ID),
    "actualizar": link_to("PATCH", _ORG, **_BY_ID),
}
_AFTER_KEY = merge(KEY_REQUIRED, links(200, **_PROFILE_LINKS))


class Registered(BaseModel):
    id: str
    status: str


class KeyIssued(BaseModel):
    """The organisation's API key, shown this once; only its hash is kept."""

    id: str
    status: str
    api_key: str


class StatusChange(BaseModel):
    id: str
    status: str
    verified: bool


def _key_issued(issued: application.KeyIssued) -> KeyIssued:
    org = issued.organization
    return KeyIssued(id=org.id, status=str(org.status), api_key=issued.api_key)


def _status_change(org: Organization) -> StatusChange:
    return StatusChange(id=org.id, status=str(org.status), verified=org.verified)


@router.post(
    "",
    status_code=201,
    summary="Autoinscripción de una organización articuladora",
    responses=problem_responses(409, 422),
    openapi_extra=_AFTER_REGISTRATION,
)
async def register(body: OrganizationCreate, uow: UoW, response: Response) -> Registered:
    org = await application.register(uow, body, now())
    response.headers["Location"] = f"/v1/organizations/{org.id}"
    return Registered(id=org.id, status=str(org.status))


@router.get(
    "",
    summary="Directorio público de organizaciones activas",
    response_model=DirectoryPage,
    responses={200: {"content": {"text/csv": {}}}, **problem_responses(422, 503)},
)
async def directory(query: Annotated[DirectoryQuery, Query()], resources: Resources) -> Any:
    catalog = loaded_catalog(resources)
    if query.format == "csv":
        return StreamingResponse(
            _csv(catalog.directory(query)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="organizaciones.csv"'},
        )
    return directory_page(catalog.directory(query), query.limit)


def _csv(entries: Iterator[CatalogEntry], chunk: int = 500) -> Iterator[str]:
    """Synchronous on purpose: Starlette iterates it in a worker thread, so a 100,000-row
    export does not hold the event loop."""
    yield from iter_csv([], header=True)
    while batch := list(itertools.islice(entries, chunk)):
        yield "".join(iter_csv((public_data(entry) for entry in batch), header=False))


@router.get(
    "/{organization_id}",
    summary="Ficha de una organización (pública; la propia organización y el equipo ven más)",
    response_model=StaffProfile | OwnerProfile | PublicProfile,
    responses=problem_responses(401, 404, 410),
    openapi_extra=KEY_OPTIONAL,
)
async def get_organization(organization_id: str, uow: UoW, caller: Caller) -> Any:
    if caller.is_staff:
        return staff_view((await application.load_organization(uow, organization_id)).entity)
    if caller.owns(organization_id):
        return owner_view((await application.load_organization(uow, organization_id)).entity)
    found = await uow.organizations.get(organization_id)
    if found is None:
        raise NotFound("La organización no existe o no está publicada en el directorio.")
    return public_view_or_error(found.entity)


@router.patch(
    "/{organization_id}",
    summary="Actualiza la ficha (la propia organización o el equipo)",
    response_model=StaffProfile | OwnerProfile,
    responses=problem_responses(401, 403, 404, 409, 410, 422),
    openapi_extra=KEY_REQUIRED,
)
async def update(organization_id: str, body: OrganizationPatch, uow: UoW, caller: Caller) -> Any:
    require_owner_or_staff(organization_id, caller)
    org = await application.update_profile(uow, organization_id, body, caller.actor(), now())
    return staff_view(org) if caller.is_staff else owner_view(org)


@router.delete(
    "/{organization_id}",
    summary="Retiro del registro: se borran los datos personales y queda constancia del retiro",
    responses=problem_responses(401, 403, 404, 409, 410),
    openapi_extra=KEY_REQUIRED,
)
async def withdraw(organization_id: str, uow: UoW, caller: Caller) -> StatusChange:
    require_owner_or_staff(organization_id, caller)
    return _status_change(await application.withdraw(uow, organization_id, caller.actor(), now()))


@router.post(
    "/{organization_id}/confirmation",
    summary="Confirma el correo con el token recibido; entrega la clave de API una sola vez",
    responses=problem_responses(403, 404, 409, 410),
    openapi_extra=links(200, **_PROFILE_LINKS),
)
async def confirm(organization_id: str, body: ConfirmationInput, uow: UoW) -> KeyIssued:
    return _key_issued(await application.confirm(uow, organization_id, body.token, now()))


@router.post(
    "/{organization_id}/confirmation-request",
    status_code=202,
    summary="Envía de nuevo el enlace de confirmación al contacto registrado",
    responses=problem_responses(404, 409, 410),
)
async def renew_confirmation(organization_id: str, uow: UoW) -> Registered:
    org = await application.renew_confirmation(uow, organization_id, now())
    return Registered(id=org.id, status=str(org.status))


@router.post(
    "/{organization_id}/activation",
    summary="El equipo activa una inscripción pendiente en nombre de la organización",
    responses=problem_responses(401, 403, 404, 409, 410),
    openapi_extra=_AFTER_KEY,
)
async def activate(organization_id: str, body: ReasonInput, uow: UoW, staff: Staff) -> KeyIssued:
    return _key_issued(
        await application.activate(uow, organization_id, body.reason, staff_id(staff), now())
    )


@router.post(
    "/{organization_id}/api-key",
    summary="Rota la clave de API (la anterior deja de servir)",
    responses=problem_responses(401, 403, 404, 409, 410),
    openapi_extra=_AFTER_KEY,
)
async def rotate_api_key(organization_id: str, uow: UoW, caller: Caller) -> KeyIssued:
    require_owner_or_staff(organization_id, caller)
    return _key_issued(await application.rotate_api_key(uow, organization_id, now()))


@router.post(
    "/{organization_id}/verification",
    summary="El equipo marca (o desmarca) una organización como verificada",
    responses=problem_responses(401, 403, 404, 409, 410),
    openapi_extra=_AFTER_KEY,
)
async def verify(
    organization_id: str, body: VerificationInput, uow: UoW, staff: Staff
) -> StatusChange:
    org = await application.verify(
        uow, organization_id, body.reason, staff_id(staff), now(), verified=body.verified
    )
    return _status_change(org)


@router.post(
    "/{organization_id}/suspension",
    summary="El equipo suspende una organización (sale del directorio)",
    responses=problem_responses(401, 403, 404, 409, 410),
    openapi_extra=_AFTER_KEY,
)
async def suspend(organization_id: str, body: ReasonInput, uow: UoW, staff: Staff) -> StatusChange:
    org = await application.suspend(uow, organization_id, body.reason, staff_id(staff), now())
    return _status_change(org)


@router.post(
    "/{organization_id}/reinstatement",
    summary="El equipo levanta la suspensión",
    responses=problem_responses(401, 403, 404, 409, 410),
    openapi_extra=_AFTER_KEY,
)
async def reinstate(
    organization_id: str, body: ReasonInput, uow: UoW, staff: Staff
) -> StatusChange:
    org = await application.reinstate(uow, organization_id, body.reason, staff_id(staff), now())
    return _status_change(org)

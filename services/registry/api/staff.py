"""Staff views: full records, the pending queue with duplicate warnings, and counts.

Counts answer questions such as "how many organisations registered between 1 and 22 September,
by sector" straight from the data (`GET /v1/staff/registrations/summary`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.registry.api.deps import Resources, Staff, UoW, loaded_catalog
from services.registry.domain.catalog import CountableField, StaffFilter
from services.registry.domain.duplicates import DuplicateWarning, find_duplicates
from services.registry.domain.organization import OrganizationStatus
from services.registry.domain.views import StaffProfile, staff_view
from shared.fields import Timestamp
from shared.openapi import KEY_REQUIRED
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/staff", tags=["equipo"])


class RegistrationFilters(BaseModel):
    """The filters staff lists and counts share: status, call and registration window."""

    model_config = ConfigDict(extra="forbid")

    status: OrganizationStatus | None = None
    call_id: str | None = Field(default=None, max_length=64)
    registered_from: Timestamp | None = None
    registered_to: Timestamp | None = None

    def where(self) -> StaffFilter:
        return StaffFilter(
            status=str(self.status) if self.status else None,
            call_id=self.call_id,
            registered_from=self.registered_from,
            registered_to=self.registered_to,
        )


class StaffQuery(RegistrationFilters):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class SummaryQuery(RegistrationFilters):
    by: CountableField = "sector"


class StaffRecord(BaseModel):
    organization: StaffProfile
    duplicates: list[DuplicateWarning]


class StaffList(BaseModel):
    items: list[StaffRecord]
    offset: int
    limit: int


class Summary(BaseModel):
    by: str
    total: int
    counts: dict[str, int] = Field(
        description="Organizaciones por valor; listas cuentan cada valor"
    )
    filters: dict[str, Any]


@router.get(
    "/organizations",
    summary="Fichas completas; las pendientes traen avisos de posibles duplicados",
    responses=problem_responses(401, 403, 503),
    openapi_extra=KEY_REQUIRED,
)
async def list_organizations(
    query: Annotated[StaffQuery, Query()], uow: UoW, resources: Resources, _staff: Staff
) -> StaffList:
    catalog = loaded_catalog(resources)
    where = query.where()
    orgs = await uow.organizations.get_many(catalog.staff_ids(where, query.limit, query.offset))
    items = []
    for org in orgs:
        duplicates: list[DuplicateWarning] = []
        entry = catalog.get(org.id)
        if org.status == OrganizationStatus.PENDING and entry is not None:
            candidates = await uow.organizations.get_many(catalog.duplicate_ids(entry))
            duplicates = find_duplicates(org, candidates)
        items.append(StaffRecord(organization=staff_view(org), duplicates=duplicates))
    return StaffList(items=items, offset=query.offset, limit=query.limit)


@router.get(
    "/registrations/summary",
    summary="Cuántas organizaciones se inscribieron, por un campo, en un período",
    responses=problem_responses(401, 403, 503),
    openapi_extra=KEY_REQUIRED,
)
async def registrations_summary(
    query: Annotated[SummaryQuery, Query()], resources: Resources, _staff: Staff
) -> Summary:
    where = query.where()
    total, counts = loaded_catalog(resources).count_by(where, query.by)
    return Summary(
        by=query.by,
        total=total,
        counts=counts,
        filters=query.model_dump(mode="json", exclude={"by"}, exclude_none=True),
    )

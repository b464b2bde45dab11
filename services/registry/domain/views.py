"""What each audience sees of an organisation: the public, its owner, staff.

The public view is built field by field from an allow-list, never by removing fields from the
full record, so a field added to the aggregate later stays private until someone decides to
publish it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.registry.domain.errors import NotFound, WithdrawnOrganizationError
from services.registry.domain.organization import AuditEntry, Organization, OrganizationStatus
from services.registry.domain.profile import (
    LegalForm,
    MacrozoneId,
    RegionCode,
    Role,
    Scope,
    Sector,
    Theme,
    Trait,
)

__all__ = [
    "ConsentView",
    "ContactView",
    "OwnerProfile",
    "PublicProfile",
    "StaffProfile",
    "owner_view",
    "public_profile",
    "public_view",
    "public_view_or_error",
    "staff_view",
]


class PublicProfile(BaseModel):
    """The directory entry: public facts only, never contact data or consent records."""

    id: str
    rut: str
    name: str
    short_name: str | None
    sector: Sector
    legal_form: LegalForm
    head_office_region: RegionCode
    macrozone: MacrozoneId
    regions: list[RegionCode]
    comunas: list[str]
    scope: Scope
    roles: list[Role]
    themes: list[Theme]
    links_with_others: bool | None
    has_alliances: bool | None
    traits: list[Trait]
    website: str | None
    description: str | None
    year_founded: int | None
    status: OrganizationStatus
    verified: bool
    registered_at: datetime
    call_id: str | None


class ContactView(BaseModel):
    name: str
    email: str
    phone: str | None


class ConsentView(BaseModel):
    publish_profile: bool
    terms_version: str
    accepted_at: datetime
    publish_profile_updated_at: datetime


class OwnerProfile(PublicProfile):
    """What the organisation itself sees: adds its contact person and consent record."""

    contact: ContactView | None
    consent: ConsentView | None
    confirmed_at: datetime | None
    updated_at: datetime
    withdrawn_at: datetime | None


class StaffProfile(OwnerProfile):
    """What staff see: adds the history of decisions and the state of the confirmation."""

    confirmation_expires_at: datetime | None
    api_keys: int
    audit: list[AuditEntry]


def _public_fields(org: Organization) -> dict[str, Any]:
    """The aggregate's values of `PublicProfile`'s fields (the one list of public fields)."""
    return {name: getattr(org, name) for name in PublicProfile.model_fields}


def _owner_fields(org: Organization) -> dict[str, Any]:
    return {
        **_public_fields(org),
        "contact": org.contact.model_dump() if org.contact else None,
        "consent": org.consent.model_dump() if org.consent else None,
        "confirmed_at": org.confirmed_at,
        "updated_at": org.updated_at,
        "withdrawn_at": org.withdrawn_at,
    }


def public_view(org: Organization) -> PublicProfile:
    return PublicProfile.model_validate(_public_fields(org))


def public_profile(org: Organization) -> dict[str, Any]:
    """The public view as JSON-ready data (for responses, CSV and caches)."""
    return public_view(org).model_dump(mode="json")


def owner_view(org: Organization) -> OwnerProfile:
    return OwnerProfile.model_validate(_owner_fields(org))


def staff_view(org: Organization) -> StaffProfile:
    return StaffProfile.model_validate(
        {
            **_owner_fields(org),
            "confirmation_expires_at": org.confirmation.expires_at if org.confirmation else None,
            "api_keys": len(org.api_keys),
            "audit": org.audit,
        }
    )


def public_view_or_error(org: Organization) -> PublicProfile:
    """``GET /v1/organizations/{id}`` for anyone: listed ones only; a withdrawal is a fact.

    Pending, suspended or unpublished organisations answer 404, as if absent, so the public
    cannot probe who registered; a withdrawn one answers 410 with the date it left.
    """
    if org.listed:
        return public_view(org)
    if org.status == OrganizationStatus.WITHDRAWN and org.withdrawn_at is not None:
        raise WithdrawnOrganizationError(
            f"La organización se retiró del registro el {org.withdrawn_at.date().isoformat()}."
        )
    raise NotFound("La organización no existe o no está publicada en el directorio.")

"""Organisations as the events service sees them: what the registry publishes of each one.

Invitations go to the organisations that work in an encuentro's macrozone, and only active
organisations register people, so this view keeps territory and status, nothing personal.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.events.registry import OrganizationEvent
from shared.reference.territory import macrozone_of

ACTIVE = "active"
WITHDRAWN = "withdrawn"


class KnownOrganization(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    sector: str
    head_office_region: str
    regions: tuple[str, ...]
    macrozone: str
    status: str
    changed_at: datetime  # when the registry made the change this view last applied

    @classmethod
    def from_event(cls, event: OrganizationEvent) -> KnownOrganization:
        snapshot = event.organization
        return cls(
            id=event.organization_id,
            name=snapshot.name,
            sector=snapshot.sector,
            head_office_region=snapshot.head_office_region,
            regions=snapshot.regions,
            macrozone=snapshot.macrozone,
            status=snapshot.status,
            changed_at=event.occurred_at,
        )

    @property
    def can_register_people(self) -> bool:
        return self.status == ACTIVE

    def works_in(self, macrozone: str) -> bool:
        """Its head office or one of its working regions lies in `macrozone`."""
        regions = {self.head_office_region, *self.regions}
        return any(macrozone_of(region) == macrozone for region in regions)

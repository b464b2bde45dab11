"""Organisations as the metrics service keeps them: what the statistics group by, from the
registry's public snapshots (never anything personal)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from services.metrics.domain.registry_profile import ProfileFacts
from shared.events.registry import OrganizationEvent, OrganizationSnapshot
from shared.values import UtcDatetime

__all__ = ["KnownOrganization"]


class KnownOrganization(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    sector: str
    status: str
    head_office_region: str
    macrozone: str
    regions: tuple[str, ...]
    themes: tuple[str, ...]
    snapshot: OrganizationSnapshot
    changed_at: UtcDatetime  # when the registry made the change this view last applied

    @classmethod
    def from_event(cls, event: OrganizationEvent) -> KnownOrganization:
        s = event.organization
        return cls(
            id=event.organization_id,
            name=s.name,
            sector=s.sector,
            status=s.status,
            head_office_region=s.head_office_region,
            macrozone=s.macrozone,
            regions=s.regions,
            themes=s.themes,
            snapshot=s,
            changed_at=event.occurred_at,
        )

    def facts(self) -> ProfileFacts:
        return ProfileFacts.from_snapshot(self.snapshot)

    def newer_than(self, other: KnownOrganization) -> bool:
        return self.changed_at >= other.changed_at

"""Commitments per region ("¿A qué nos comprometemos como región?") and their follow-up.

A commitment is its own aggregate: it outlives its encuentro (it is followed up for months) and
is changed by its responsible organisation, not only by staff. It is taken while the encuentro
is under way or just closed, in a region of the encuentro's macrozone; every status change is
kept in `history`. Overdue = not fulfilled nor dropped, and past its due date (domain.md §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.events.domain.encuentro import Encuentro
from services.events.domain.forms import CommitmentInput, CommitmentStatus, CommitmentStatusInput
from services.events.domain.lifecycle import EncuentroStatus
from shared.errors import InvalidInput, InvalidTransition
from shared.events.commitments import CommitmentStatusChanged, CommitmentTaken
from shared.events.encuentros import Agreement
from shared.events.registry import Actor
from shared.reference.territory import macrozone_of
from shared.values import UtcDatetime

__all__ = ["COMMITMENTS_OPEN", "Commitment", "HistoryEntry", "take_commitment"]

COMMITMENTS_OPEN = frozenset({EncuentroStatus.IN_PROGRESS, EncuentroStatus.CLOSED})
_FINAL = frozenset({CommitmentStatus.FULFILLED, CommitmentStatus.DROPPED})


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", use_enum_values=True)

    status: CommitmentStatus
    note: str | None = None
    at: UtcDatetime
    by: Actor


class Commitment(BaseModel):
    model_config = ConfigDict(extra="ignore", use_enum_values=True)

    id: str
    encuentro_id: str
    macrozone: str
    region: str
    text: str
    organization_ids: list[str]
    responsible_organization_id: str
    due_date: date
    status: CommitmentStatus = CommitmentStatus.PENDING
    created_at: UtcDatetime
    updated_at: UtcDatetime
    history: list[HistoryEntry] = Field(default_factory=list)

    def overdue(self, today: date) -> bool:
        return self.status not in _FINAL and self.due_date < today

    def agreement(self) -> Agreement:
        return Agreement(
            commitment_id=self.id,
            region=self.region,
            text=self.text,
            organization_ids=tuple(self.organization_ids),
            responsible_organization_id=self.responsible_organization_id,
            due_date=self.due_date,
            status=str(self.status),
        )

    def change_status(
        self, data: CommitmentStatusInput, *, actor: Actor, now: datetime
    ) -> list[CommitmentStatusChanged]:
        """Any status to any other, each change kept (a dropped commitment may be taken up
        again); the same status without a note changes nothing."""
        if data.status == self.status and data.note is None:
            return []
        previous = str(self.status)
        self.status = CommitmentStatus(data.status)
        self.updated_at = now
        self.history.append(HistoryEntry(status=self.status, note=data.note, at=now, by=actor))
        return [
            CommitmentStatusChanged(
                **self._event_fields(actor, now), previous_status=previous, note=data.note
            )
        ]

    def _event_fields(self, actor: Actor, now: datetime) -> dict[str, object]:
        return {
            "commitment_id": self.id,
            "encuentro_id": self.encuentro_id,
            "macrozone": self.macrozone,
            "region": self.region,
            "text": self.text,
            "organization_ids": tuple(self.organization_ids),
            "responsible_organization_id": self.responsible_organization_id,
            "due_date": self.due_date,
            "status": str(self.status),
            "occurred_at": now,
            "changed_by": actor,
        }


def take_commitment(
    encuentro: Encuentro,
    data: CommitmentInput,
    *,
    commitment_id: str,
    known_organizations: Mapping[str, bool],
    actor: Actor,
    now: datetime,
) -> tuple[Commitment, list[CommitmentTaken]]:
    """`known_organizations`: for each id sent, whether the registry knows it (not withdrawn)."""
    if encuentro.status not in COMMITMENTS_OPEN:
        raise InvalidTransition(
            f"Los compromisos se registran con el encuentro en curso o cerrado; está "
            f"«{encuentro.status}».",
            current=str(encuentro.status),
            allowed=[str(s) for s in COMMITMENTS_OPEN],
        )
    errors: list[dict[str, str]] = []
    if macrozone_of(data.region) != encuentro.macrozone:
        errors.append(
            {"field": "region", "message": "La región no pertenece a la macrozona del encuentro."}
        )
    unknown = [o for o in data.organization_ids if not known_organizations.get(o, False)]
    if unknown:
        errors.append(
            {
                "field": "organization_ids",
                "message": f"Organizaciones desconocidas o retiradas: {', '.join(unknown)}.",
            }
        )
    if data.responsible_organization_id not in data.organization_ids:
        errors.append(
            {
                "field": "responsible_organization_id",
                "message": "Debe ser una de las organizaciones del compromiso.",
            }
        )
    if errors:
        raise InvalidInput("El compromiso no es válido.", errors=errors)
    commitment = Commitment(
        id=commitment_id,
        encuentro_id=encuentro.id,
        macrozone=encuentro.macrozone,
        created_at=now,
        updated_at=now,
        history=[HistoryEntry(status=CommitmentStatus.PENDING, at=now, by=actor)],
        **data.model_dump(),
    )
    return commitment, [CommitmentTaken(**commitment._event_fields(actor, now))]

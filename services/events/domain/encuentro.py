"""The encuentro aggregate: one macrozone meeting with everything that happens at it.

One document holds the encuentro, its registrations (the seat ledger), rounds, needs and
offers and survey responses, so every decision about seats (capacity, the waiting list, a
promotion) is one compare-and-set write with its events, whatever the concurrency. Its
behaviour is split by moment: this module the encuentro itself (creation, changes, lifecycle),
`registrations` the seats, `activity` what happens during and after it. Each operation changes
the aggregate and returns the events it caused; `now`, ids and codes are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.events.domain.forms import EncuentroCreate, EncuentroPatch, ParticipantInput
from services.events.domain.lifecycle import (
    STANDARD_AGENDA,
    AgendaItem,
    EncuentroStatus,
    check_transition,
)
from shared.errors import Conflict, InvalidInput
from shared.events.base import EventContract
from shared.events.encuentros import (
    Agreement,
    EncuentroCancelled,
    EncuentroClosed,
    EncuentroCreated,
    EncuentroPublished,
    EncuentroResultsPublished,
    EncuentroSnapshot,
    EncuentroStarted,
    EncuentroUpdated,
    GroupMember,
    ParticipantsToInform,
    Recipient,
)
from shared.events.registry import Actor
from shared.reference.territory import regions_of
from shared.values import UtcDatetime

__all__ = ["Encuentro", "Registration", "Round", "StatusStep"]

_STATE = ConfigDict(extra="ignore", use_enum_values=True)

RegistrationStatus = Literal["registered", "waitlisted", "cancelled"]


class Registration(BaseModel):
    """A person's seat or waiting-list place; `participant`, `email_key` and `code` are the
    personal data, None once erased (the seat and its counts stay)."""

    model_config = _STATE

    id: str
    organization_id: str
    status: RegistrationStatus
    seq: int  # order of arrival: the waiting list is served in it
    registered_at: UtcDatetime
    participant: ParticipantInput | None = None
    email_key: str | None = None
    code: str | None = None
    attended: bool = False
    checked_in_at: UtcDatetime | None = None
    walk_in: bool = False
    surveyed: bool = False
    promoted_at: UtcDatetime | None = None
    cancelled_at: UtcDatetime | None = None

    @property
    def holds_place(self) -> bool:
        return self.status != "cancelled"

    def recipient(self) -> Recipient | None:
        if self.participant is None or self.code is None:
            return None
        return Recipient(
            registration_id=self.id,
            organization_id=self.organization_id,
            participant_name=self.participant.name,
            email=self.participant.email,
            code=self.code,
        )


class Group(BaseModel):
    model_config = _STATE

    number: int
    members: list[GroupMember]
    record: str | None = None
    record_updated_at: UtcDatetime | None = None


class Round(BaseModel):
    model_config = _STATE

    id: str
    number: int
    name: str
    question: str
    group_size: int
    formed_at: UtcDatetime
    groups: list[Group]


class NeedsOffers(BaseModel):
    model_config = _STATE

    organization_id: str
    needs: list[str]
    needs_detail: str | None = None
    offers: list[str]
    offers_detail: str | None = None
    stated_at: UtcDatetime


class SurveyResponse(BaseModel):
    """Ratings and comments, never linked to who answered."""

    model_config = _STATE

    id: str
    ratings: dict[str, int]
    comments: str | None = None
    answered_at: UtcDatetime


class StatusStep(BaseModel):
    model_config = _STATE

    status: EncuentroStatus
    reason: str | None = None
    at: UtcDatetime
    by: Actor


# The fields a PATCH may change, in the contract's order.
DETAIL_FIELDS = (
    "title",
    "macrozone",
    "theme",
    "cycle",
    "mode",
    "starts_at",
    "ends_at",
    "venue",
    "online_url",
    "capacity",
    "description",
    "agenda",
    "speakers",
)
_OPEN_BEFORE = frozenset({EncuentroStatus.DRAFT, EncuentroStatus.PUBLISHED})
_DONE = frozenset({EncuentroStatus.RESULTS_PUBLISHED, EncuentroStatus.CANCELLED})


class Encuentro(BaseModel):
    model_config = _STATE

    id: str
    title: str
    macrozone: str
    theme: str | None = None
    cycle: str | None = None
    mode: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    venue: str | None = None
    online_url: str | None = None
    capacity: int
    description: str | None = None
    agenda: list[AgendaItem]
    speakers: list[dict[str, Any]] = Field(default_factory=list)
    status: EncuentroStatus = EncuentroStatus.DRAFT
    sequence: int = 0
    created_at: UtcDatetime
    updated_at: UtcDatetime
    history: list[StatusStep] = Field(default_factory=list)
    registrations: list[Registration] = Field(default_factory=list)
    next_seq: int = 1
    rounds: list[Round] = Field(default_factory=list)
    needs_offers: list[NeedsOffers] = Field(default_factory=list)
    survey: list[SurveyResponse] = Field(default_factory=list)
    results_published_at: UtcDatetime | None = None
    personal_data_erased_at: UtcDatetime | None = None

    # --- creation and changes -----------------------------------------------------------------

    @classmethod
    def create(
        cls, data: EncuentroCreate, *, encuentro_id: str, actor: Actor, now: datetime
    ) -> tuple[Encuentro, list[EventContract]]:
        fields = data.model_dump(mode="python", exclude={"agenda", "speakers"})
        agenda = list(data.agenda) if data.agenda is not None else list(STANDARD_AGENDA)
        encuentro = cls(
            id=encuentro_id,
            **fields,
            agenda=agenda,
            speakers=[s.model_dump(mode="json") for s in data.speakers],
            created_at=now,
            updated_at=now,
            history=[StatusStep(status=EncuentroStatus.DRAFT, at=now, by=actor)],
        )
        event = EncuentroCreated(
            encuentro_id=encuentro.id,
            occurred_at=now,
            encuentro=encuentro.snapshot(),
            changed_by=actor,
        )
        return encuentro, [event]

    def update(self, patch: EncuentroPatch, *, actor: Actor, now: datetime) -> list[EventContract]:
        """Apply a partial change; a larger capacity promotes from the waiting list."""
        from services.events.domain.registrations import promote_waiting

        if self.status in _DONE:
            raise Conflict(
                f"Un encuentro en estado «{self.status}» ya no se puede modificar.",
                current_status=str(self.status),
            )
        given = patch.model_dump(mode="python", exclude_unset=True)
        changes: dict[str, Any] = {}
        for name in DETAIL_FIELDS:
            if name not in given:
                continue
            value = given[name]
            if name == "agenda":
                value = [AgendaItem.model_validate(item) for item in value]
            if name == "speakers":
                value = [dict(s) for s in value]
            if getattr(self, name) != value:
                changes[name] = value
        if not changes:
            return []
        self._check_changes(changes)
        for name, value in changes.items():
            setattr(self, name, value)
        self.touch(now)
        events: list[EventContract] = [
            EncuentroUpdated(
                encuentro_id=self.id,
                occurred_at=now,
                encuentro=self.snapshot(),
                changed_by=actor,
                fields=tuple(changes),
            )
        ]
        if "capacity" in changes and self.status == EncuentroStatus.PUBLISHED:
            events += promote_waiting(self, now)
        return events

    def _check_changes(self, changes: dict[str, Any]) -> None:
        errors: list[dict[str, str]] = []
        if "macrozone" in changes and self.status != EncuentroStatus.DRAFT:
            errors.append(
                {
                    "field": "macrozone",
                    "message": "La macrozona no se puede cambiar una vez publicado el encuentro.",
                }
            )
        taken = self.count("registered")
        if "capacity" in changes and changes["capacity"] < taken:
            errors.append(
                {
                    "field": "capacity",
                    "message": f"No puede ser menor que los {taken} cupos ya tomados.",
                }
            )
        if errors:
            raise Conflict(
                "El cambio no es posible en el estado actual del encuentro.",
                errors=errors,
                current_status=str(self.status),
            )
        starts = changes.get("starts_at", self.starts_at)
        ends = changes.get("ends_at", self.ends_at)
        if ends <= starts:
            field = "ends_at" if "ends_at" in changes else "starts_at"
            raise InvalidInput(
                "El encuentro debe terminar después de empezar.",
                errors=[{"field": field, "message": "ends_at debe ser posterior a starts_at."}],
            )

    def touch(self, now: datetime) -> None:
        """A change people's calendars must see."""
        self.sequence += 1
        self.updated_at = now

    # --- lifecycle ----------------------------------------------------------------------------

    def change_status(
        self,
        wanted: EncuentroStatus,
        *,
        reason: str | None,
        actor: Actor,
        now: datetime,
        agreements: Sequence[Agreement] = (),
    ) -> list[EventContract]:
        """Move to `wanted` (409 naming the current state and the allowed ones otherwise)."""
        previous = EncuentroStatus(self.status)
        check_transition(previous, wanted)
        self.status = wanted
        self.history.append(StatusStep(status=wanted, reason=reason, at=now, by=actor))
        self.touch(now)
        common: dict[str, Any] = {
            "encuentro_id": self.id,
            "occurred_at": now,
            "encuentro": self.snapshot(),
            "changed_by": actor,
            "reason": reason,
        }
        if wanted == EncuentroStatus.PUBLISHED:
            return [EncuentroPublished(**common)]
        if wanted == EncuentroStatus.IN_PROGRESS:
            return [EncuentroStarted(**common)]
        if wanted == EncuentroStatus.CLOSED:
            attended = [r for r in self.registrations if r.attended]
            return [EncuentroClosed(**common), *self.inform("survey_open", attended, now)]
        if wanted == EncuentroStatus.CANCELLED:
            holding = [r for r in self.registrations if r.holds_place]
            cancelled = EncuentroCancelled(**common, previous_status=str(previous))
            return [cancelled, *self.inform("encuentro_cancelled", holding, now)]
        self.results_published_at = now
        registered = [r for r in self.registrations if r.status == "registered"]
        published = EncuentroResultsPublished(
            **common,
            agreements=tuple(agreements),
            registered=len(registered),
            attended=self.count("attended"),
        )
        return [published, *self.inform("results", registered, now)]

    def inform(
        self,
        about: Literal[
            "promoted", "registration_cancelled", "encuentro_cancelled", "survey_open", "results"
        ],
        registrations: Sequence[Registration],
        now: datetime,
    ) -> list[EventContract]:
        """The private message to these participants (none when nobody is left to tell)."""
        recipients = [r for r in (reg.recipient() for reg in registrations) if r is not None]
        if not recipients:
            return []
        return [
            ParticipantsToInform(
                encuentro_id=self.id, occurred_at=now, about=about, recipients=tuple(recipients)
            )
        ]

    # --- what others see ----------------------------------------------------------------------

    def snapshot(self) -> EncuentroSnapshot:
        return EncuentroSnapshot(
            title=self.title,
            macrozone=self.macrozone,
            regions=tuple(regions_of(self.macrozone)),
            theme=self.theme,
            cycle=self.cycle,
            mode=self.mode,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            venue=self.venue,
            online_url=self.online_url,
            capacity=self.capacity,
            status=str(self.status),
            sequence=self.sequence,
        )

    def count(self, what: Literal["registered", "waitlisted", "attended"]) -> int:
        if what == "attended":
            return sum(1 for r in self.registrations if r.attended)
        return sum(1 for r in self.registrations if r.status == what)

    def has_registration_of(self, organization_id: str) -> bool:
        return any(
            r.organization_id == organization_id and r.holds_place for r in self.registrations
        )

    @property
    def public(self) -> bool:
        """Listed to anyone: published and later (drafts are staff's)."""
        return self.status != EncuentroStatus.DRAFT

    @property
    def editable_before_start(self) -> bool:
        return self.status in _OPEN_BEFORE

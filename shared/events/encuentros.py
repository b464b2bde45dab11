"""Events service events: encuentros from publication to published agreements.

Two audiences, as for the registry:

* ``Topic.EVENTS_ENCUENTROS`` (key: encuentro id) is kept forever and read by metrics and the
  notifier. It carries every step of an encuentro with organisation and registration ids,
  never a participant's name, e-mail or personal code. A registration carries the
  participant's ``gender`` and ``age_group`` (both optional, chosen from short lists) because
  metrics publishes attendees by gender and age group, and suppresses any cell under 3 people.
  Free texts people write (group records, needs and offers details, survey comments) stay in
  the events service: an event says only *that* they were written, since a topic kept forever
  cannot honour an erasure.

* ``Topic.EVENTS_PARTICIPANTS`` is **private**: only the notifier reads it. It carries what
  an e-mail to a participant needs (name, e-mail, personal code) and, when many participants
  must be told the same thing (cancellation, survey, agreements), the list of recipients as
  they are at that moment, so the notifier never has to join or guess who is still there.
  Fields with personal data are marked ``x-personal-data``; log ``safe_summary()``.

Identifiers (macrozone, theme, status…) are plain strings here, not enums, so that adding a
value does not make an old consumer dead-letter every new event.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventContract
from shared.events.registry import Actor
from shared.events.topics import Topic

__all__ = [
    "ENCUENTRO_LIFECYCLE_EVENTS",
    "Agreement",
    "EncuentroCancelled",
    "EncuentroClosed",
    "EncuentroCreated",
    "EncuentroEvent",
    "EncuentroFact",
    "EncuentroPublished",
    "EncuentroResultsPublished",
    "EncuentroSnapshot",
    "EncuentroStarted",
    "EncuentroUpdated",
    "GroupMember",
    "GroupRecordWritten",
    "NeedsOffersStated",
    "OrganizationInvited",
    "ParticipantCheckedIn",
    "ParticipantEnrolled",
    "ParticipantErased",
    "ParticipantRegistered",
    "ParticipantsToInform",
    "Recipient",
    "RegistrationCancelled",
    "RegistrationPromoted",
    "RoundFormed",
    "RoundGroup",
    "SurveyAnswered",
]

_FROZEN = ConfigDict(extra="ignore", frozen=True)
_PERSONAL: dict[str, Any] = {"x-personal-data": True}


class EncuentroSnapshot(BaseModel):
    """The encuentro after the change, as other services keep it (no registrations)."""

    model_config = _FROZEN

    title: str
    macrozone: str
    regions: tuple[str, ...]  # the macrozone's regions, for consumers that match by region
    theme: str | None = None
    cycle: str | None = None
    mode: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None = None
    online_url: str | None = None
    capacity: int
    status: str
    sequence: int  # grows on every change, as the calendar's SEQUENCE


class EncuentroFact(EventContract):
    """Anything that happened to one encuentro: keyed by it, so one encuentro's events stay in
    order on one partition."""

    topic: ClassVar[Topic] = Topic.EVENTS_ENCUENTROS

    encuentro_id: str
    occurred_at: datetime

    def aggregate_id(self) -> str:
        return self.encuentro_id


class EncuentroEvent(EncuentroFact):
    """A change of the encuentro itself, with its snapshot after the change (abstract)."""

    encuentro: EncuentroSnapshot
    changed_by: Actor


class EncuentroCreated(EncuentroEvent):
    """Staff created the encuentro; it is a draft nobody else sees."""

    name: ClassVar[str] = "events.encuentro_created"
    version: ClassVar[int] = 1


class EncuentroUpdated(EncuentroEvent):
    """Staff changed the encuentro; ``fields`` names what changed."""

    name: ClassVar[str] = "events.encuentro_updated"
    version: ClassVar[int] = 1

    fields: tuple[str, ...] = Field(min_length=1)


class EncuentroPublished(EncuentroEvent):
    """Registration opens; organisations working in the macrozone are invited."""

    name: ClassVar[str] = "events.encuentro_published"
    version: ClassVar[int] = 1

    reason: str | None = None


class EncuentroStarted(EncuentroEvent):
    """The encuentro is in progress: check-in is open, registration closed."""

    name: ClassVar[str] = "events.encuentro_started"
    version: ClassVar[int] = 1

    reason: str | None = None


class EncuentroClosed(EncuentroEvent):
    """The encuentro ended: the survey opens, needs and offers become public."""

    name: ClassVar[str] = "events.encuentro_closed"
    version: ClassVar[int] = 1

    reason: str | None = None


class EncuentroCancelled(EncuentroEvent):
    """Staff cancelled the encuentro before it closed; registrants are told."""

    name: ClassVar[str] = "events.encuentro_cancelled"
    version: ClassVar[int] = 1

    reason: str | None = None
    previous_status: str


class Agreement(BaseModel):
    """One commitment as the published agreements list it."""

    model_config = _FROZEN

    commitment_id: str
    region: str
    text: str
    organization_ids: tuple[str, ...]
    responsible_organization_id: str
    due_date: date
    status: str


class EncuentroResultsPublished(EncuentroEvent):
    """The agreements by region are published; every participant is mailed them."""

    name: ClassVar[str] = "events.encuentro_results_published"
    version: ClassVar[int] = 1

    reason: str | None = None
    agreements: tuple[Agreement, ...]
    registered: int
    attended: int


ENCUENTRO_LIFECYCLE_EVENTS: tuple[type[EncuentroEvent], ...] = (
    EncuentroCreated,
    EncuentroUpdated,
    EncuentroPublished,
    EncuentroStarted,
    EncuentroClosed,
    EncuentroCancelled,
    EncuentroResultsPublished,
)


class OrganizationInvited(EncuentroFact):
    """An organisation working in the encuentro's macrozone is invited (the notifier writes to
    its contact): at publication, or when it becomes active while registration is open."""

    name: ClassVar[str] = "events.organization_invited"
    version: ClassVar[int] = 1

    organization_id: str
    macrozone: str
    cause: Literal["published", "organization_active"]


class ParticipantRegistered(EncuentroFact):
    """A person took a seat or a place on the waiting list for an organisation."""

    name: ClassVar[str] = "events.participant_registered"
    version: ClassVar[int] = 1

    registration_id: str
    organization_id: str
    status: Literal["registered", "waitlisted"]
    position: int | None = None  # on the waiting list
    gender: str | None = None
    age_group: str | None = None
    walk_in: bool = False


class RegistrationPromoted(EncuentroFact):
    """A seat freed (a cancellation, a larger capacity): the first waiting is registered."""

    name: ClassVar[str] = "events.registration_promoted"
    version: ClassVar[int] = 1

    registration_id: str
    organization_id: str


class RegistrationCancelled(EncuentroFact):
    """The organisation or staff cancelled a seat or a place on the waiting list."""

    name: ClassVar[str] = "events.registration_cancelled"
    version: ClassVar[int] = 1

    registration_id: str
    organization_id: str
    previous_status: Literal["registered", "waitlisted"]
    changed_by: Actor


class ParticipantCheckedIn(EncuentroFact):
    """A registered person is here ("participación")."""

    name: ClassVar[str] = "events.participant_checked_in"
    version: ClassVar[int] = 1

    registration_id: str
    organization_id: str


class GroupMember(BaseModel):
    model_config = _FROZEN

    registration_id: str
    organization_id: str


class RoundGroup(BaseModel):
    model_config = _FROZEN

    number: int
    members: tuple[GroupMember, ...]


class RoundFormed(EncuentroFact):
    """Staff split the checked-in participants into small groups for one question."""

    name: ClassVar[str] = "events.round_formed"
    version: ClassVar[int] = 1

    round_id: str
    number: int
    round_name: str
    question: str
    group_size: int
    groups: tuple[RoundGroup, ...]


class GroupRecordWritten(EncuentroFact):
    """A group wrote (or rewrote) its record; the text stays in the events service."""

    name: ClassVar[str] = "events.group_record_written"
    version: ClassVar[int] = 1

    round_id: str
    group_number: int


class NeedsOffersStated(EncuentroFact):
    """An organisation stated what it needs and offers (``replaces`` an earlier answer)."""

    name: ClassVar[str] = "events.needs_offers_stated"
    version: ClassVar[int] = 1

    organization_id: str
    macrozone: str
    needs: tuple[str, ...]
    offers: tuple[str, ...]
    replaces: bool


class SurveyAnswered(EncuentroFact):
    """One satisfaction response: ratings only, never who answered nor the comments."""

    name: ClassVar[str] = "events.survey_answered"
    version: ClassVar[int] = 1

    response_id: str
    ratings: dict[str, int]


# --- private: participants ----------------------------------------------------------------------


class _ParticipantsFact(EventContract):
    topic: ClassVar[Topic] = Topic.EVENTS_PARTICIPANTS

    PERSONAL_FIELDS: ClassVar[frozenset[str]] = frozenset()

    encuentro_id: str
    occurred_at: datetime

    def aggregate_id(self) -> str:
        return self.encuentro_id

    def safe_summary(self) -> dict[str, Any]:
        """What may be logged: everything except personal data."""
        return self.model_dump(mode="json", exclude=set(self.PERSONAL_FIELDS))


class ParticipantEnrolled(_ParticipantsFact):
    """PRIVATE: confirm a registration to the participant, with the personal code (for
    check-in, the group record and the survey) and the seat or waiting-list place."""

    name: ClassVar[str] = "events.participant_enrolled"
    version: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[frozenset[str]] = frozenset({"participant_name", "email", "code"})

    registration_id: str
    organization_id: str
    participant_name: str = Field(repr=False, json_schema_extra=_PERSONAL)
    email: str = Field(repr=False, json_schema_extra=_PERSONAL)
    code: str = Field(repr=False, json_schema_extra=_PERSONAL)
    status: Literal["registered", "waitlisted"]
    position: int | None = None


class Recipient(BaseModel):
    model_config = _FROZEN

    registration_id: str
    organization_id: str
    participant_name: str = Field(repr=False, json_schema_extra=_PERSONAL)
    email: str = Field(repr=False, json_schema_extra=_PERSONAL)
    code: str = Field(repr=False, json_schema_extra=_PERSONAL)


class ParticipantsToInform(_ParticipantsFact):
    """PRIVATE: tell these participants one thing: promoted from the waiting list, their seat
    cancelled, the encuentro cancelled, the survey open (checked-in ones only), the agreements
    published (the public event of the same encuentro carries them)."""

    name: ClassVar[str] = "events.participants_to_inform"
    version: ClassVar[int] = 1
    PERSONAL_FIELDS: ClassVar[frozenset[str]] = frozenset({"recipients"})

    about: Literal[
        "promoted", "registration_cancelled", "encuentro_cancelled", "survey_open", "results"
    ]
    recipients: tuple[Recipient, ...] = Field(repr=False)


class ParticipantErased(_ParticipantsFact):
    """PRIVATE: forget this participant (erasure on request, after the retention period, or
    their organisation withdrew); the counts stay."""

    name: ClassVar[str] = "events.participant_erased"
    version: ClassVar[int] = 1

    registration_id: str
    cause: Literal["request", "retention", "organization_withdrawn"]

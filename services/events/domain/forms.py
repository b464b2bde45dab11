"""What the events service's clients send: request bodies, their fields and validation.

Field names and identifier values are the public contract (``contract.md``, "Events"). Each
field's OpenAPI schema says what its validation accepts (``shared.fields``); what a schema
cannot say (an end after the start, a region in the encuentro's macrozone, what the current
state allows) is in the descriptions and checked by the domain. Messages are in Spanish and
never echo a participant's name or e-mail, so a logged validation error holds no personal data.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from services.events.domain.lifecycle import AgendaItem, EncuentroStatus
from shared.fields import (
    BLANK_TO_NONE,
    NOT_NULL,
    Day,
    Timestamp,
    json_number,
    or_blank,
    refuse_null,
    text_schema,
    trimmed,
)
from shared.reference.vocabulary import Theme
from shared.values import (
    REASON_SCHEMA,
    WEBSITE_SCHEMA,
    Email,
    MacrozoneId,
    PersonName,
    Reason,
    RegionCode,
    Website,
)

__all__ = [
    "AGE_GROUPS",
    "AgeGroup",
    "CheckinInput",
    "CommitmentInput",
    "CommitmentStatus",
    "CommitmentStatusInput",
    "EncuentroCreate",
    "EncuentroPatch",
    "Gender",
    "GroupRecordInput",
    "Mode",
    "Need",
    "NeedsOffersInput",
    "Offer",
    "ParticipantInput",
    "RegistrationInput",
    "RoundInput",
    "Speaker",
    "StatusChange",
    "SurveyDimension",
    "SurveyInput",
]

_INPUT = ConfigDict(extra="forbid", use_enum_values=True)
MAX_CAPACITY: Final = 5000


class Mode(StrEnum):
    VIRTUAL = "virtual"
    PRESENCIAL = "presencial"
    HIBRIDO = "hibrido"


class Gender(StrEnum):
    MUJER = "mujer"
    HOMBRE = "hombre"
    OTRO = "otro"
    PREFIERE_NO_DECIR = "prefiere_no_decir"


class AgeGroup(StrEnum):
    FROM_18 = "18-29"
    FROM_30 = "30-44"
    FROM_45 = "45-59"
    FROM_60 = "60+"


AGE_GROUPS: Final = tuple(AgeGroup)


class Need(StrEnum):
    ARTICULACION_REDES = "articulacion_redes"
    INFORMACION_CONTACTOS_VOLUNTARIADO = "informacion_contactos_voluntariado"
    VINCULACION_TERRITORIAL = "vinculacion_territorial"
    FORTALECIMIENTO = "fortalecimiento"
    INCIDENCIA_POLITICAS = "incidencia_politicas"
    DIFUSION = "difusion"


class Offer(StrEnum):
    SABERES_METODOLOGIAS = "saberes_metodologias"
    EXPERIENCIAS = "experiencias"
    CONTACTOS = "contactos"
    TIEMPO_VOLUNTARIADO = "tiempo_voluntariado"
    REDES_ESPACIOS = "redes_espacios"
    PLATAFORMAS = "plataformas"
    APORTES_MATERIALES = "aportes_materiales"


class SurveyDimension(StrEnum):
    EXPERIENCIA_GENERAL = "experiencia_general"
    TEMAS = "temas"
    FACILITACION = "facilitacion"
    METODOLOGIA = "metodologia"
    CONEXION = "conexion"
    EXPOSICIONES = "exposiciones"
    DURACION = "duracion"


class CommitmentStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    FULFILLED = "fulfilled"
    DROPPED = "dropped"


def _schema(min_length: int, max_length: int) -> WithJsonSchema:
    return WithJsonSchema(text_schema(min_length, max_length, multiline=True))


def _or_blank(min_length: int, max_length: int) -> WithJsonSchema:
    return or_blank(text_schema(min_length, max_length, multiline=True))


# Texts people write: the limit counts what is sent, the minimum what remains trimmed.
Title = Annotated[
    str, StringConstraints(max_length=200), trimmed(3), WithJsonSchema(text_schema(3, 200))
]
ShortText = Annotated[
    str, StringConstraints(max_length=300), trimmed(2), WithJsonSchema(text_schema(2, 300))
]
OptionalShortText = Annotated[ShortText | None, BLANK_TO_NONE, or_blank(text_schema(2, 300))]
LongText = Annotated[
    str, StringConstraints(max_length=5000), trimmed(1, multiline=True), _schema(1, 5000)
]
OptionalLongText = Annotated[LongText | None, BLANK_TO_NONE, _or_blank(1, 5000)]
Question = Annotated[
    str, StringConstraints(max_length=500), trimmed(3, multiline=True), _schema(3, 500)
]
OptionalReason = Annotated[Reason | None, BLANK_TO_NONE, or_blank(REASON_SCHEMA)]
RecordText = Annotated[
    str, StringConstraints(max_length=10000), trimmed(1, multiline=True), _schema(1, 10000)
]
OptionalUrl = Annotated[Website | None, BLANK_TO_NONE, or_blank(WEBSITE_SCHEMA)]
Code = Annotated[
    str,
    StringConstraints(max_length=20),
    WithJsonSchema({"type": "string", "maxLength": 20, "description": "El código personal."}),
]
OrganizationId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
]

# A cycle groups encuentros ("cos-2021"): lower-case letters, digits and hyphens.
CYCLE_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"
Cycle = Annotated[str, StringConstraints(pattern=CYCLE_PATTERN)]
Capacity = Annotated[int, Field(ge=1, le=MAX_CAPACITY), BeforeValidator(json_number)]
_ENDS_AFTER_START = "Debe ser posterior a starts_at."


class Speaker(BaseModel):
    """An invited speaker of the exposición: public, as on the programme."""

    model_config = _INPUT

    name: PersonName
    role: OptionalShortText = None
    affiliation: OptionalShortText = None
    title: OptionalShortText = None
    slides_url: OptionalUrl = None
    video_url: OptionalUrl = None


class EncuentroCreate(BaseModel):
    """Body of `POST /v1/encuentros`: `ends_at` after `starts_at`; an omitted agenda is the
    standard one (domain.md §4)."""

    model_config = _INPUT

    title: Title
    macrozone: MacrozoneId
    theme: Theme | None = None
    cycle: Cycle | None = None
    mode: Mode
    starts_at: Timestamp
    ends_at: Annotated[Timestamp, Field(description=_ENDS_AFTER_START)]
    venue: OptionalShortText = None
    online_url: OptionalUrl = None
    capacity: Capacity
    description: OptionalLongText = None
    agenda: Annotated[list[AgendaItem], Field(min_length=1, max_length=30)] | None = None
    speakers: Annotated[list[Speaker], Field(max_length=30)] = Field(default_factory=list)

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        """On the field, so the 422 names `ends_at` (a model's own check would name `body`);
        `starts_at` comes first, so it is validated by now (absent if it failed)."""
        starts_at = info.data.get("starts_at")
        if isinstance(starts_at, datetime) and ends_at <= starts_at:
            raise ValueError(_ENDS_AFTER_START)
        return ends_at


class EncuentroPatch(BaseModel):
    """Body of `PATCH /v1/encuentros/{id}`: a field left out keeps its value; null is refused
    except for the optional ones (theme, cycle, venue, online_url, description). The merged
    encuentro must still end after it starts; the macrozone cannot change once published, nor
    the capacity fall below the seats taken."""

    model_config = _INPUT

    title: Annotated[Title | None, NOT_NULL] = None
    macrozone: Annotated[MacrozoneId | None, NOT_NULL] = None
    theme: Theme | None = None
    cycle: Cycle | None = None
    mode: Annotated[Mode | None, NOT_NULL] = None
    starts_at: Annotated[Timestamp | None, NOT_NULL] = None
    ends_at: Annotated[Timestamp | None, NOT_NULL] = None
    venue: OptionalShortText = None
    online_url: OptionalUrl = None
    capacity: Annotated[Capacity | None, NOT_NULL] = None
    description: OptionalLongText = None
    agenda: Annotated[list[AgendaItem] | None, Field(min_length=1, max_length=30), NOT_NULL] = None
    speakers: Annotated[list[Speaker] | None, Field(max_length=30), NOT_NULL] = None

    @field_validator(
        "title",
        "macrozone",
        "mode",
        "starts_at",
        "ends_at",
        "capacity",
        "agenda",
        "speakers",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class StatusChange(BaseModel):
    """Body of `POST /v1/encuentros/{id}/status`."""

    model_config = _INPUT

    status: EncuentroStatus
    reason: OptionalReason = None


class ParticipantInput(BaseModel):
    model_config = _INPUT

    name: PersonName
    email: Email
    gender: Gender | None = None
    age_group: AgeGroup | None = None


class RegistrationInput(BaseModel):
    """Body of `POST /v1/encuentros/{id}/registrations`. An organisation registers its own
    people: it leaves `organization_id` out or gives its own (another one is refused, 403).
    Staff name the organisation, which must be one the service knows (422 otherwise) and be
    active (409 otherwise)."""

    model_config = _INPUT

    participant: ParticipantInput
    organization_id: OrganizationId | None = None


class CheckinInput(BaseModel):
    """Body of `POST /v1/encuentros/{id}/checkins`: `registration_id` or `code`, or a walk-in
    (`participant` with `organization_id`: registered and checked in at once; the organisation
    must be one the service knows, and active). Without any of them, or a `participant`
    without `organization_id`, the body is refused (422)."""

    model_config = _INPUT

    registration_id: OrganizationId | None = None
    code: Code | None = None
    participant: ParticipantInput | None = None
    organization_id: OrganizationId | None = None


class RoundInput(BaseModel):
    model_config = _INPUT

    name: ShortText
    question: Question
    group_size: Annotated[int, Field(ge=2, le=50), BeforeValidator(json_number)] = 4


class GroupRecordInput(BaseModel):
    """Body of the group record: staff, or a member of the group with its `code`."""

    model_config = _INPUT

    text: RecordText
    code: Code | None = None


_UNIQUE: Final[dict[str, Any]] = {"uniqueItems": True}


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("No repita valores.")
    return sorted(values)


class NeedsOffersInput(BaseModel):
    """An organisation's needs and offers at one encuentro (replaced on each PUT)."""

    model_config = _INPUT

    needs: Annotated[
        list[Need], Field(max_length=len(Need), json_schema_extra={"uniqueItems": True})
    ]
    needs_detail: OptionalLongText = None
    offers: Annotated[list[Offer], Field(max_length=len(Offer), json_schema_extra=_UNIQUE)]
    offers_detail: OptionalLongText = None

    @field_validator("needs", "offers")
    @classmethod
    def _no_repeats(cls, values: list[Any]) -> list[Any]:
        return _unique(values)


class CommitmentInput(BaseModel):
    """Body of `POST /v1/encuentros/{id}/commitments`: `region` in the encuentro's macrozone;
    `organization_ids` organisations the service knows (not withdrawn), the responsible
    organisation among them. A body that breaks one of these rules is refused (422, naming
    the field)."""

    model_config = _INPUT

    region: RegionCode
    text: LongText
    organization_ids: Annotated[
        list[OrganizationId],
        Field(min_length=1, max_length=100, json_schema_extra={"uniqueItems": True}),
    ]
    responsible_organization_id: OrganizationId
    due_date: Day

    @field_validator("organization_ids")
    @classmethod
    def _no_repeats(cls, values: list[Any]) -> list[Any]:
        return _unique(values)


class CommitmentStatusInput(BaseModel):
    model_config = _INPUT

    status: CommitmentStatus
    note: OptionalLongText = None


Rating = Annotated[int, Field(ge=1, le=5), BeforeValidator(json_number)]


class SurveyInput(BaseModel):
    """A checked-in participant's satisfaction response, by their personal `code`."""

    model_config = _INPUT

    code: Code
    ratings: Annotated[
        dict[SurveyDimension, Rating],
        Field(min_length=1, description="1 «Muy insatisfecho» … 5 «Muy satisfecho»."),
    ]
    comments: OptionalLongText = None

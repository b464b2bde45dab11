"""What organisations and staff send about programmes: request bodies, their fields and checks.

Field names and identifier values are the public contract (``contract.md``, "Metrics"). Each
field's OpenAPI schema says what its validation accepts (``shared.fields``); what a schema
cannot say (a target on the good side of its baseline, a measurement's period in order, the
disaggregated values against the indicator and the total) is in the descriptions and checked by
the domain (``programmes``), which names the field in its 422. Messages are in Spanish.

Nothing here describes a person: a programme reports results in aggregate, so there is no field
for a beneficiary's name or any other individual datum (domain.md §5, "cuenta pública").

Disaggregation vocabularies are the events service's registration values (contract "Events"),
so programme and encuentro figures break down alike: ``sex`` is the registration's ``gender``
(``mujer``, ``hombre``, ``otro``, ``prefiere_no_decir``), ``age_group`` its age groups
(``18-29``, ``30-44``, ``45-59``, ``60+``), ``region`` an ISO 3166-2:CL code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from services.metrics.domain.figures import Direction
from shared.cursors import NumberedCursor
from shared.fields import (
    BLANK_TO_NONE,
    Day,
    Timestamp,
    json_number,
    or_blank,
    text_schema,
    trimmed,
)
from shared.reference.territory import REGION_CODES
from shared.reference.vocabulary import Theme
from shared.values import (
    REASON_SCHEMA,
    WEBSITE_SCHEMA,
    MacrozoneId,
    Reason,
    RegionCode,
    Website,
)

__all__ = [
    "COMPLETE_VALUES",
    "MAX_VALUE",
    "ActivityInput",
    "ActivityStatus",
    "AgeGroup",
    "Dimension",
    "Direction",
    "DisaggregatedInput",
    "DisaggregatedValue",
    "EvidenceLevel",
    "EvidenceListQuery",
    "IndicatorInput",
    "Level",
    "MeasurementInput",
    "Point",
    "ProgrammeCreate",
    "ProgrammeListQuery",
    "ReviewDecision",
    "ReviewInput",
    "Sex",
    "TheoryOfChange",
    "WorkAreaInput",
    "WorkPlanInput",
    "dimension_of",
]

_INPUT = ConfigDict(extra="forbid", use_enum_values=True)
_UNIQUE: Final[dict[str, Any]] = {"uniqueItems": True}


class Level(StrEnum):
    OUTPUT = "output"
    OUTCOME = "outcome"
    IMPACT = "impact"


class Dimension(StrEnum):
    SEX = "sex"
    AGE_GROUP = "age_group"
    REGION = "region"


class Sex(StrEnum):
    """The events service's `gender` values (a registration's), reused so figures compare."""

    MUJER = "mujer"
    HOMBRE = "hombre"
    OTRO = "otro"
    PREFIERE_NO_DECIR = "prefiere_no_decir"


class AgeGroup(StrEnum):
    FROM_18 = "18-29"
    FROM_30 = "30-44"
    FROM_45 = "45-59"
    FROM_60 = "60+"


# A dimension whose every value appears in a measurement is complete: its values must add up to
# the total. Regions never are: a programme's people may live outside its regions, so only
# "not more than the total" can be checked.
COMPLETE_VALUES: Final[dict[str, tuple[str, ...]]] = {
    Dimension.SEX: tuple(Sex),
    Dimension.AGE_GROUP: tuple(AgeGroup),
}


class EvidenceLevel(StrEnum):
    SELF_REPORTED = "self_reported"
    THIRD_PARTY_VERIFIED = "third_party_verified"
    EXTERNALLY_EVALUATED = "externally_evaluated"


class ActivityStatus(StrEnum):
    DONE = "done"
    PENDING = "pending"
    POSTPONED = "postponed"
    DROPPED = "dropped"


class ReviewDecision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


def _unique_in_order(order: Sequence[str]) -> Callable[[list[Any]], list[Any]]:
    """Refuse duplicates, then sort into the vocabulary's order (one canonical form)."""
    rank = {value: index for index, value in enumerate(order)}

    def check(values: list[Any]) -> list[Any]:
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"No repita valores; aparece más de una vez: {', '.join(repeated)}.")
        return sorted(values, key=lambda v: (rank.get(v, len(rank)), str(v)))

    return check


def _schema(min_length: int, max_length: int, *, multiline: bool = False) -> WithJsonSchema:
    return WithJsonSchema(text_schema(min_length, max_length, multiline=multiline))


# Texts people write: the limit counts what is sent, the minimum what remains trimmed.
Name = Annotated[str, StringConstraints(max_length=200), trimmed(3), _schema(3, 200)]
ShortText = Annotated[str, StringConstraints(max_length=300), trimmed(2), _schema(2, 300)]
Unit = Annotated[str, StringConstraints(max_length=60), trimmed(1), _schema(1, 60)]
LongText = Annotated[
    str,
    StringConstraints(max_length=5000),
    trimmed(1, multiline=True),
    _schema(1, 5000, multiline=True),
]
Statement = Annotated[
    str,
    StringConstraints(max_length=1000),
    trimmed(1, multiline=True),
    _schema(1, 1000, multiline=True),
]
OptionalLongText = Annotated[
    LongText | None, BLANK_TO_NONE, or_blank(text_schema(1, 5000, multiline=True))
]
OptionalReason = Annotated[Reason | None, BLANK_TO_NONE, or_blank(REASON_SCHEMA)]
OptionalUrl = Annotated[Website | None, BLANK_TO_NONE, or_blank(WEBSITE_SCHEMA)]
Statements = Annotated[list[Statement], Field(max_length=50)]

MAX_VALUE: Final = 1e12
# A JSON number (integer or decimal), finite and within ±10¹²: not a string of digits nor a
# boolean, which pydantic would otherwise read as a number.
Number = Annotated[float, Field(strict=True, ge=-MAX_VALUE, le=MAX_VALUE, allow_inf_nan=False)]
Part = Annotated[
    float,
    Field(
        strict=True,
        ge=0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="La parte del total (no negativa).",
    ),
]
Themes = Annotated[
    list[Theme],
    Field(min_length=1, max_length=len(Theme), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(list(Theme))),
]
Regions = Annotated[
    list[RegionCode],
    Field(min_length=1, max_length=len(REGION_CODES), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(REGION_CODES)),
]
Dimensions = Annotated[
    list[Dimension],
    Field(max_length=len(Dimension), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(list(Dimension))),
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class TheoryOfChange(BaseModel):
    """The programme's theory of change (domain.md §5): the problem, then the chain from
    activities to final results, and what it takes for granted and what could break it."""

    model_config = _INPUT

    problem: LongText
    activities: Statements = Field(default_factory=list)
    outputs: Statements = Field(default_factory=list)
    intermediate_results: Statements = Field(default_factory=list)
    final_results: Statements = Field(default_factory=list)
    assumptions: Statements = Field(default_factory=list)
    risks: Statements = Field(default_factory=list)


class ProgrammeCreate(BaseModel):
    """Body of `POST /v1/programmes`: the caller's organisation owns the programme."""

    model_config = _INPUT

    name: Name
    summary: LongText
    themes: Themes
    regions: Regions
    theory_of_change: TheoryOfChange


class Point(BaseModel):
    """A value at a date: an indicator's baseline or target."""

    model_config = _INPUT

    value: Number
    date: Day


class IndicatorInput(BaseModel):
    """Body of `POST /v1/programmes/{id}/indicators`. The target lies on the good side of the
    baseline for `direction` (at or above it for `increase`, at or below for `decrease`) and its
    date after the baseline's; otherwise 422 naming `target.value` or `target.date`."""

    model_config = _INPUT

    name: Name
    level: Level
    unit: Annotated[Unit, Field(description="Unidad de medida: personas, hogares, %…")]
    direction: Annotated[
        Direction, Field(description="increase: subir es bueno; decrease: bajar es bueno.")
    ]
    baseline: Point
    target: Point
    disaggregations: Dimensions = Field(default_factory=list)
    means_of_verification: OptionalLongText = None


_ONE_DIMENSION = (
    "Cada valor desagregado lleva exactamente una dimensión (sex, age_group o region) y "
    'value, p. ej. {"sex": "mujer", "value": 12}.'
)


def dimension_of(entry: Any) -> str | None:
    """Which dimension a disaggregated value names: its one key besides `value`."""
    named = [d.value for d in Dimension if d.value in entry]
    return named[0] if len(named) == 1 else None


def _one_dimension(entry: Any) -> Any:
    if isinstance(entry, dict) and dimension_of(entry) is None:
        raise ValueError(_ONE_DIMENSION)
    return entry


def _entry_schema(dimension: str, values: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [dimension, "value"],
        "properties": {
            dimension: {"type": "string", "enum": list(values)},
            "value": {"type": "number", "minimum": 0, "maximum": MAX_VALUE},
        },
    }


class DisaggregatedValue(BaseModel):
    """One cell, `{"sex": "mujer", "value": 12}`: one dimension and its part of the total."""

    model_config = _INPUT

    sex: Sex | None = None
    age_group: AgeGroup | None = None
    region: RegionCode | None = None
    value: Part

    @model_validator(mode="after")
    def _one_named(self) -> DisaggregatedValue:
        if sum(v is not None for v in (self.sex, self.age_group, self.region)) != 1:
            raise ValueError(_ONE_DIMENSION)
        return self

    @property
    def dimension(self) -> str:
        if self.sex is not None:
            return Dimension.SEX.value
        return (Dimension.AGE_GROUP if self.age_group is not None else Dimension.REGION).value

    @property
    def key(self) -> str:
        return str(self.sex or self.age_group or self.region)


# Exactly one of the three shapes (the schema says so; a key given twice fails both checks).
DisaggregatedInput = Annotated[
    DisaggregatedValue,
    BeforeValidator(_one_dimension),
    WithJsonSchema(
        {
            "oneOf": [
                _entry_schema(Dimension.SEX, tuple(Sex)),
                _entry_schema(Dimension.AGE_GROUP, tuple(AgeGroup)),
                _entry_schema(Dimension.REGION, REGION_CODES),
            ]
        }
    ),
]


class MeasurementInput(BaseModel):
    """Body of `POST /v1/indicators/{id}/measurements`. `period_end` is not before
    `period_start`; each disaggregated value names one of the indicator's disaggregations, once
    per category; a dimension given in full (sex: mujer, hombre, otro and prefiere_no_decir;
    age_group: its four groups) adds up to `value`, and any other never exceeds it (regions are
    never complete). Otherwise 422 naming `period_end` or `disaggregated`."""

    model_config = _INPUT

    period_start: Day
    period_end: Day
    value: Number
    disaggregated: Annotated[list[DisaggregatedInput], Field(max_length=60)] = Field(
        default_factory=list
    )
    source: Annotated[ShortText, Field(description="De dónde sale el valor.")]
    evidence_level: EvidenceLevel
    evidence_url: OptionalUrl = None


class ReviewInput(BaseModel):
    """Body of `POST /v1/measurements/{id}/review`: a rejection says why (`reason`)."""

    model_config = _INPUT

    decision: ReviewDecision
    reason: OptionalReason = None


class ActivityInput(BaseModel):
    model_config = _INPUT

    name: ShortText
    status: ActivityStatus


# A JSON integer: not a boolean nor a string of digits (`json_number`, as a before-validator).
NeedsIdentified = Annotated[int, Field(ge=0, le=1_000_000), BeforeValidator(json_number)]


class WorkAreaInput(BaseModel):
    """One area ("ámbito") of a work plan: the needs a baseline diagnosis identified (null when
    it was not diagnosed) and the activities planned for it, each with its status."""

    model_config = _INPUT

    area: ShortText
    needs_identified: NeedsIdentified | None
    activities: Annotated[list[ActivityInput], Field(max_length=2000)]


class WorkPlanInput(BaseModel):
    """Body of `PUT /v1/programmes/{id}/work-plan`: the whole plan, replaced; area names are
    unique (422 naming `areas.N.area` otherwise)."""

    model_config = _INPUT

    areas: Annotated[list[WorkAreaInput], Field(max_length=50)]


class ProgrammeListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: Id | None = None
    theme: Theme | None = None
    region: RegionCode | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: NumberedCursor | None = None


class EvidenceListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    theme: Theme | None = None
    region: RegionCode | None = None
    macrozone: MacrozoneId | None = None
    organization_id: Id | None = None
    since: Annotated[
        Timestamp | None,
        Field(
            description="Solo la evidencia publicada desde este instante (RFC 3339; en la URL, "
            "«+» se escribe %2B, o use Z)."
        ),
    ] = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: NumberedCursor | None = None

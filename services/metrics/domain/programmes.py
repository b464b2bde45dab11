"""The programme aggregate: one organisation's programme with its indicators, measurements and
work plan (domain.md §5).

One document holds all of it because every rule is inside one programme: only its owner
defines indicators and submits measurements; a measurement is checked against its indicator
(its disaggregations); an approval moves the indicator's `actual` and `progress_percent` and
publishes evidence carrying the programme's themes and territory. So each decision is one
compare-and-set write with its events, whatever the concurrency. A programme has tens of
indicators and a few measurements per indicator and period: years of quarterly reports stay far
below MongoDB's 16 MB; lists read a projection without them.

Parts are named after their programme (`<programme id>-i3`, `<programme id>-m7`) so that
`/v1/indicators/{id}` and `/v1/measurements/{id}` find it with one read by `_id`, the only read
FerretDB serves from an index; clients treat the ids as opaque.

Each operation changes the aggregate and returns what it made and the events it caused; `now`
and the programme id are passed in. Formulas (progress, the work plan's percentages) are
`figures`; this module only decides which numbers they get.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.metrics.domain.figures import (
    AreaCounts,
    WorkPlanFigures,
    progress_percent,
    work_plan_figures,
)
from services.metrics.domain.programme_forms import (
    ActivityStatus,
    IndicatorInput,
    MeasurementInput,
    ProgrammeCreate,
    ReviewDecision,
    ReviewInput,
    WorkPlanInput,
)
from services.metrics.domain.programme_rules import disaggregation_errors, indicator_errors
from shared.errors import InvalidInput, InvalidTransition, NotFound
from shared.events.base import EventContract
from shared.events.metrics import (
    DisaggregatedValue as EventCell,
)
from shared.events.metrics import (
    EvidencePublished,
    IndicatorDefined,
    MeasurementReviewed,
    MeasurementSubmitted,
    ProgrammeCreated,
    WorkPlanSet,
)
from shared.events.registry import Actor
from shared.reference.territory import MACROZONE_IDS, macrozone_of
from shared.values import UtcDatetime

__all__ = [
    "Activity",
    "Cell",
    "Indicator",
    "Measurement",
    "MeasurementStatus",
    "PointValue",
    "Programme",
    "TheoryOfChangeState",
    "WorkArea",
    "WorkPlan",
    "programme_id_of",
]

_STATE = ConfigDict(extra="ignore", use_enum_values=True)
MeasurementStatus = Literal["submitted", "approved", "rejected"]
_INDICATOR, _MEASUREMENT = "i", "m"


def programme_id_of(part_id: str, kind: str) -> str | None:
    """The programme an indicator (`kind` "i") or measurement ("m") id belongs to, if any."""
    programme_id, _, suffix = part_id.rpartition("-")
    if not programme_id or suffix[:1] != kind or not suffix[1:].isdigit():
        return None
    return programme_id


def macrozones_of(regions: Sequence[str]) -> list[str]:
    found = {macrozone_of(region) for region in regions}
    return [m for m in MACROZONE_IDS if m in found]


# --- state ----------------------------------------------------------------------------------


class TheoryOfChangeState(BaseModel):
    model_config = _STATE

    problem: str
    activities: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    intermediate_results: list[str] = Field(default_factory=list)
    final_results: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)


class PointValue(BaseModel):
    model_config = _STATE

    value: float
    date: date


class Indicator(BaseModel):
    """An indicator with what its approved measurements made of it (`actual`, progress)."""

    model_config = _STATE

    id: str
    name: str
    level: str
    unit: str
    direction: Literal["increase", "decrease"]
    baseline: PointValue
    target: PointValue
    disaggregations: list[str] = Field(default_factory=list)
    means_of_verification: str | None = None
    defined_at: UtcDatetime
    actual: float | None = None
    actual_measurement_id: str | None = None
    progress_percent: int | None = None


class Cell(BaseModel):
    """One disaggregated value: `dimension` (sex, age_group, region), its `key`, the value."""

    model_config = _STATE

    dimension: str
    key: str
    value: float


class Measurement(BaseModel):
    model_config = _STATE

    id: str
    indicator_id: str
    period_start: date
    period_end: date
    value: float
    disaggregated: list[Cell] = Field(default_factory=list)
    source: str
    evidence_level: str
    evidence_url: str | None = None
    status: MeasurementStatus = "submitted"
    submitted_at: UtcDatetime
    submitted_by: Actor
    reviewed_at: UtcDatetime | None = None
    reviewed_by: Actor | None = None
    review_reason: str | None = None


class Activity(BaseModel):
    model_config = _STATE

    name: str
    status: ActivityStatus


class WorkArea(BaseModel):
    model_config = _STATE

    area: str
    needs_identified: int | None
    activities: list[Activity] = Field(default_factory=list)

    def counts(self) -> AreaCounts:
        """Every activity is planned, dropped ones too (seed 001 counts them so)."""
        done = sum(a.status == ActivityStatus.DONE for a in self.activities)
        return AreaCounts(
            area=self.area,
            needs_identified=self.needs_identified,
            planned=len(self.activities),
            done=done,
        )


class WorkPlan(BaseModel):
    model_config = _STATE

    areas: list[WorkArea] = Field(default_factory=list)
    set_at: UtcDatetime | None = None

    def figures(self) -> WorkPlanFigures:
        return work_plan_figures([area.counts() for area in self.areas])


# --- the aggregate --------------------------------------------------------------------------


class Programme(BaseModel):
    model_config = _STATE

    id: str
    organization_id: str
    name: str
    summary: str
    themes: list[str]
    regions: list[str]
    macrozones: list[str]
    theory_of_change: TheoryOfChangeState
    created_at: UtcDatetime
    updated_at: UtcDatetime
    indicators: list[Indicator] = Field(default_factory=list)
    measurements: list[Measurement] = Field(default_factory=list)
    work_plan: WorkPlan | None = None
    next_indicator: int = 1
    next_measurement: int = 1

    @classmethod
    def create(
        cls,
        data: ProgrammeCreate,
        *,
        programme_id: str,
        organization_id: str,
        actor: Actor,
        now: datetime,
    ) -> tuple[Programme, list[EventContract]]:
        programme = cls(
            id=programme_id,
            organization_id=organization_id,
            name=data.name,
            summary=data.summary,
            themes=list(data.themes),
            regions=list(data.regions),
            macrozones=macrozones_of(data.regions),
            theory_of_change=TheoryOfChangeState.model_validate(data.theory_of_change.model_dump()),
            created_at=now,
            updated_at=now,
        )
        event = ProgrammeCreated(
            **programme._event_fields(actor, now),
            programme_name=programme.name,
            themes=tuple(programme.themes),
            regions=tuple(programme.regions),
            macrozones=tuple(programme.macrozones),
        )
        return programme, [event]

    def _event_fields(self, actor: Actor, now: datetime) -> dict[str, object]:
        return {
            "programme_id": self.id,
            "organization_id": self.organization_id,
            "occurred_at": now,
            "changed_by": actor,
        }

    # --- reading ------------------------------------------------------------------------------

    def indicator(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise NotFound("El indicador no existe.")

    def measurement(self, measurement_id: str) -> Measurement:
        for measurement in self.measurements:
            if measurement.id == measurement_id:
                return measurement
        raise NotFound("La medición no existe.")

    def measurements_of(self, indicator_id: str) -> list[Measurement]:
        """In period order (then as submitted)."""
        found = [m for m in self.measurements if m.indicator_id == indicator_id]
        return sorted(found, key=lambda m: (m.period_end, m.period_start, m.submitted_at))

    def work_plan_figures(self) -> WorkPlanFigures:
        return (self.work_plan or WorkPlan()).figures()

    # --- changes ------------------------------------------------------------------------------

    def define_indicator(
        self, data: IndicatorInput, *, actor: Actor, now: datetime
    ) -> tuple[Indicator, list[EventContract]]:
        errors = indicator_errors(data)
        if errors:
            raise InvalidInput("El indicador no es válido.", errors=errors)
        indicator = Indicator(
            id=f"{self.id}-{_INDICATOR}{self.next_indicator}",
            defined_at=now,
            **data.model_dump(),
        )
        self.next_indicator += 1
        self.indicators.append(indicator)
        self.updated_at = now
        event = IndicatorDefined(
            **self._event_fields(actor, now),
            indicator_id=indicator.id,
            indicator_name=indicator.name,
            level=indicator.level,
            unit=indicator.unit,
            direction=indicator.direction,
            baseline_value=indicator.baseline.value,
            baseline_date=indicator.baseline.date,
            target_value=indicator.target.value,
            target_date=indicator.target.date,
            disaggregations=tuple(indicator.disaggregations),
        )
        return indicator, [event]

    def submit_measurement(
        self, indicator_id: str, data: MeasurementInput, *, actor: Actor, now: datetime
    ) -> tuple[Measurement, list[EventContract]]:
        indicator = self.indicator(indicator_id)
        errors = []
        if data.period_end < data.period_start:
            errors.append(
                {"field": "period_end", "message": "No puede ser anterior a period_start."}
            )
        errors += disaggregation_errors(indicator.disaggregations, data.disaggregated, data.value)
        if errors:
            raise InvalidInput("La medición no es válida.", errors=errors)
        measurement = Measurement(
            id=f"{self.id}-{_MEASUREMENT}{self.next_measurement}",
            indicator_id=indicator.id,
            period_start=data.period_start,
            period_end=data.period_end,
            value=data.value,
            disaggregated=[
                Cell(dimension=c.dimension, key=c.key, value=c.value) for c in data.disaggregated
            ],
            source=data.source,
            evidence_level=data.evidence_level,
            evidence_url=data.evidence_url,
            submitted_at=now,
            submitted_by=actor,
        )
        self.next_measurement += 1
        self.measurements.append(measurement)
        self.updated_at = now
        event = MeasurementSubmitted(
            **self._event_fields(actor, now),
            indicator_id=indicator.id,
            measurement_id=measurement.id,
            period_start=measurement.period_start,
            period_end=measurement.period_end,
            value=measurement.value,
            evidence_level=measurement.evidence_level,
        )
        return measurement, [event]

    def review(
        self, measurement_id: str, data: ReviewInput, *, actor: Actor, now: datetime
    ) -> tuple[Measurement, list[EventContract]]:
        """Staff decide once: only a submitted measurement is reviewed. An approval makes the
        indicator's actual its latest approved measurement by period and publishes evidence."""
        measurement = self.measurement(measurement_id)
        if measurement.status != "submitted":
            raise InvalidTransition(
                f"Solo se revisa una medición enviada (submitted); esta ya está "
                f"«{measurement.status}».",
                current=measurement.status,
                allowed=[],
            )
        if data.decision == ReviewDecision.REJECTED and data.reason is None:
            raise InvalidInput(
                "Un rechazo dice por qué.",
                errors=[{"field": "reason", "message": "Requerido al rechazar una medición."}],
            )
        decision: Literal["approved", "rejected"] = (
            "approved" if data.decision == ReviewDecision.APPROVED else "rejected"
        )
        measurement.status = decision
        measurement.reviewed_at = now
        measurement.reviewed_by = actor
        measurement.review_reason = data.reason
        self.updated_at = now
        indicator = self.indicator(measurement.indicator_id)
        events: list[EventContract] = [
            MeasurementReviewed(
                **self._event_fields(actor, now),
                indicator_id=indicator.id,
                measurement_id=measurement.id,
                decision=decision,
                reason=data.reason,
            )
        ]
        if decision == "approved":
            self._follow_actual(indicator)
            events.append(self._evidence(indicator, measurement, now))
        return measurement, events

    def _follow_actual(self, indicator: Indicator) -> None:
        approved = [m for m in self.measurements_of(indicator.id) if m.status == "approved"]
        latest = max(
            approved, key=lambda m: (m.period_end, m.period_start, m.reviewed_at or m.submitted_at)
        )
        indicator.actual = latest.value
        indicator.actual_measurement_id = latest.id
        indicator.progress_percent = progress_percent(
            indicator.baseline.value,
            indicator.target.value,
            latest.value,
            direction=indicator.direction,
        )

    def _evidence(
        self, indicator: Indicator, measurement: Measurement, now: datetime
    ) -> EvidencePublished:
        assert indicator.actual is not None
        return EvidencePublished(
            evidence_id=measurement.id,
            programme_id=self.id,
            programme_name=self.name,
            organization_id=self.organization_id,
            indicator_id=indicator.id,
            indicator_name=indicator.name,
            level=indicator.level,
            unit=indicator.unit,
            direction=indicator.direction,
            baseline_value=indicator.baseline.value,
            target_value=indicator.target.value,
            value=measurement.value,
            actual=indicator.actual,
            progress_percent=indicator.progress_percent,
            period_start=measurement.period_start,
            period_end=measurement.period_end,
            disaggregated=tuple(
                EventCell(dimension=c.dimension, key=c.key, value=c.value)
                for c in measurement.disaggregated
            ),
            source=measurement.source,
            evidence_level=measurement.evidence_level,
            evidence_url=measurement.evidence_url,
            themes=tuple(self.themes),
            regions=tuple(self.regions),
            macrozones=tuple(self.macrozones),
            published_at=now,
        )

    def set_work_plan(
        self, data: WorkPlanInput, *, actor: Actor, now: datetime
    ) -> tuple[WorkPlan, list[EventContract]]:
        """The whole plan, replaced; area names unique (they name the rows of the figures)."""
        errors = []
        seen: set[str] = set()
        for index, area in enumerate(data.areas):
            name = area.area.casefold()
            if name in seen:
                errors.append(
                    {"field": f"areas.{index}.area", "message": "Esta área ya está en el plan."}
                )
            seen.add(name)
        if errors:
            raise InvalidInput("El plan de trabajo no es válido.", errors=errors)
        plan = WorkPlan(
            areas=[WorkArea.model_validate(area.model_dump()) for area in data.areas], set_at=now
        )
        self.work_plan = plan
        self.updated_at = now
        total = plan.figures().total
        event = WorkPlanSet(
            **self._event_fields(actor, now),
            areas=tuple(area.area for area in plan.areas),
            planned=total.planned,
            done=total.done,
        )
        return plan, [event]

"""What each caller sees of a programme, its indicators, measurements, work plan and evidence.

Everything here is public ("cuenta pública de resultados") except what staff have not approved:
submitted and rejected measurements (with a rejection's reason) are shown only to the
programme's organisation and to staff, beside the approved ones everybody sees. No view holds
anything about a person; disaggregated values go back out in the shape they came in
(`{"sex": "mujer", "value": 12}`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from services.metrics.domain.figures import AreaFigures
from services.metrics.domain.programmes import (
    Cell,
    Indicator,
    Measurement,
    Programme,
    TheoryOfChangeState,
)
from shared.events.metrics import EvidencePublished

__all__ = [
    "AreaView",
    "EvidenceView",
    "IndicatorView",
    "MeasurementView",
    "ProgrammeSummaryView",
    "ProgrammeView",
    "WorkPlanView",
    "evidence_view",
    "indicator_view",
    "measurement_view",
    "programme_summary_view",
    "programme_view",
    "work_plan_view",
]


def _cells(cells: list[Cell]) -> list[dict[str, Any]]:
    return [{c.dimension: c.key, "value": c.value} for c in cells]


class PointView(BaseModel):
    value: float
    date: date


class MeasurementView(BaseModel):
    id: str
    indicator_id: str
    programme_id: str
    period_start: date
    period_end: date
    value: float
    disaggregated: list[dict[str, Any]]
    source: str
    evidence_level: str
    evidence_url: str | None
    status: str
    submitted_at: datetime
    reviewed_at: datetime | None
    review_reason: str | None


def measurement_view(programme: Programme, measurement: Measurement) -> MeasurementView:
    return MeasurementView(
        **measurement.model_dump(
            exclude={"disaggregated", "submitted_by", "reviewed_by"}, mode="python"
        ),
        programme_id=programme.id,
        disaggregated=_cells(measurement.disaggregated),
    )


class IndicatorSummaryView(BaseModel):
    """An indicator with `actual` (its latest approved measurement by period) and progress."""

    id: str
    programme_id: str
    name: str
    level: str
    unit: str
    direction: str
    baseline: PointView
    target: PointView
    disaggregations: list[str]
    means_of_verification: str | None
    actual: float | None
    actual_measurement_id: str | None
    progress_percent: int | None
    defined_at: datetime


class IndicatorView(IndicatorSummaryView):
    """`measurements`: the approved ones, in period order. `unpublished_measurements`: those
    submitted or rejected, for the programme's organisation and staff only (null for others)."""

    organization_id: str
    measurements: list[MeasurementView]
    unpublished_measurements: list[MeasurementView] | None


def _indicator_fields(programme: Programme, indicator: Indicator) -> dict[str, Any]:
    return {
        **indicator.model_dump(mode="python"),
        "programme_id": programme.id,
    }


def indicator_view(programme: Programme, indicator: Indicator, *, insider: bool) -> IndicatorView:
    measurements = programme.measurements_of(indicator.id)
    approved = [measurement_view(programme, m) for m in measurements if m.status == "approved"]
    others = [measurement_view(programme, m) for m in measurements if m.status != "approved"]
    return IndicatorView(
        **_indicator_fields(programme, indicator),
        organization_id=programme.organization_id,
        measurements=approved,
        unpublished_measurements=others if insider else None,
    )


class TheoryOfChangeView(BaseModel):
    problem: str
    activities: list[str]
    outputs: list[str]
    intermediate_results: list[str]
    final_results: list[str]
    assumptions: list[str]
    risks: list[str]


class ProgrammeSummaryView(BaseModel):
    id: str
    organization_id: str
    name: str
    summary: str
    themes: list[str]
    regions: list[str]
    macrozones: list[str]
    theory_of_change: TheoryOfChangeView
    created_at: datetime
    updated_at: datetime


class ProgrammeView(ProgrammeSummaryView):
    indicators: list[IndicatorSummaryView]


def _toc(theory: TheoryOfChangeState) -> TheoryOfChangeView:
    return TheoryOfChangeView.model_validate(theory.model_dump())


def programme_summary_view(programme: Programme) -> ProgrammeSummaryView:
    return ProgrammeSummaryView(
        **programme.model_dump(
            include={
                "id",
                "organization_id",
                "name",
                "summary",
                "themes",
                "regions",
                "macrozones",
                "created_at",
                "updated_at",
            }
        ),
        theory_of_change=_toc(programme.theory_of_change),
    )


def programme_view(programme: Programme) -> ProgrammeView:
    return ProgrammeView(
        **programme_summary_view(programme).model_dump(exclude={"theory_of_change"}),
        theory_of_change=_toc(programme.theory_of_change),
        indicators=[
            IndicatorSummaryView(**_indicator_fields(programme, i)) for i in programme.indicators
        ],
    )


class ActivityView(BaseModel):
    name: str
    status: str


class AreaView(AreaFigures):
    """An area's counts and percentages (`figures.work_plan_figures`), its activities by status
    and the activities themselves."""

    pending: int
    postponed: int
    dropped: int
    activities: list[ActivityView]


class TotalView(AreaFigures):
    pending: int
    postponed: int
    dropped: int


class WorkPlanView(BaseModel):
    """Each area and the total: `coverage_percent` is planned over needs identified (the
    total's over the diagnosed areas only, `planned_where_diagnosed`), `compliance_percent`
    done over planned (dropped activities count as planned); null when there is nothing to be
    a share of. `set_at` is null while the programme has no plan."""

    programme_id: str
    areas: list[AreaView]
    total: TotalView
    planned_where_diagnosed: int
    set_at: datetime | None


def work_plan_view(programme: Programme) -> WorkPlanView:
    plan = programme.work_plan
    areas = plan.areas if plan is not None else []
    figures = programme.work_plan_figures()

    def by_status(statuses: list[str]) -> dict[str, int]:
        return {s: statuses.count(s) for s in ("pending", "postponed", "dropped")}

    views = []
    for area, figure in zip(areas, figures.areas, strict=True):
        statuses = [str(a.status) for a in area.activities]
        views.append(
            AreaView(
                **figure.model_dump(),
                **by_status(statuses),
                activities=[
                    ActivityView(name=a.name, status=str(a.status)) for a in area.activities
                ],
            )
        )
    every = [str(a.status) for area in areas for a in area.activities]
    return WorkPlanView(
        programme_id=programme.id,
        areas=views,
        total=TotalView(**figures.total.model_dump(), **by_status(every)),
        planned_where_diagnosed=figures.planned_where_diagnosed,
        set_at=plan.set_at if plan is not None else None,
    )


class EvidenceView(BaseModel):
    id: str
    programme_id: str
    programme_name: str
    organization_id: str
    indicator_id: str
    indicator_name: str
    level: str
    unit: str
    direction: str
    baseline_value: float
    target_value: float
    value: float
    actual: float
    progress_percent: int | None
    period_start: date
    period_end: date
    disaggregated: list[dict[str, Any]]
    source: str
    evidence_level: str
    evidence_url: str | None
    themes: list[str]
    regions: list[str]
    macrozones: list[str]
    published_at: datetime


def evidence_view(event: EvidencePublished) -> EvidenceView:
    """Published evidence as funders read it: the event, with the API's shape of cells."""
    return EvidenceView(
        **event.model_dump(exclude={"evidence_id", "disaggregated"}),
        id=event.evidence_id,
        disaggregated=[{c.dimension: c.key, "value": c.value} for c in event.disaggregated],
    )

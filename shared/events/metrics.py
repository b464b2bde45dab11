"""Metrics service events: matches between needs and offers, programmes and their evidence.

Three public topics, kept forever, with organisation ids and never a person's data:

* ``Topic.METRICS_MATCHES`` (key: match id): a need of one organisation matched with another
  organisation's offer, announced once (``MatchFound``), and withdrawn when either side
  replaces its answer or leaves the registry (``MatchWithdrawn``). The notifier tells both
  organisations.
* ``Topic.METRICS_PROGRAMMES`` (key: programme id): every change of a programme, its
  indicators, measurements (submitted, reviewed) and work plan.
* ``Topic.METRICS_EVIDENCE`` (key: programme id): approved measurements as evidence, with the
  programme's themes, regions and macrozones, so funders can follow them by theme and
  territory. A measurement is about a programme's results in aggregate: nothing about an
  individual beneficiary is stored or published.

Identifiers (categories, themes, levels…) are plain strings, so adding a value does not make an
old consumer dead-letter every new event.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from shared.events.base import EventContract
from shared.events.registry import Actor
from shared.events.topics import Topic

__all__ = [
    "DisaggregatedValue",
    "EvidencePublished",
    "IndicatorDefined",
    "MatchFound",
    "MatchSide",
    "MatchWithdrawn",
    "MeasurementReviewed",
    "MeasurementSubmitted",
    "ProgrammeCreated",
    "ProgrammeEvent",
    "ProgrammeUpdated",
    "WorkPlanSet",
]

_FROZEN = ConfigDict(extra="ignore", frozen=True)


class MatchSide(BaseModel):
    model_config = _FROZEN

    organization_id: str
    category: str
    encuentro_id: str


class _MatchFact(EventContract):
    topic: ClassVar[Topic] = Topic.METRICS_MATCHES

    match_id: str
    occurred_at: datetime

    def aggregate_id(self) -> str:
        return self.match_id


class MatchFound(_MatchFact):
    """One organisation's need fits another's offer; `reasons` say why (categories,
    territory, themes)."""

    name: ClassVar[str] = "metrics.match_found"
    version: ClassVar[int] = 1

    need: MatchSide
    offer: MatchSide
    score: float
    reasons: tuple[str, ...]


class MatchWithdrawn(_MatchFact):
    """A match no longer holds: a side replaced its answer or left the registry."""

    name: ClassVar[str] = "metrics.match_withdrawn"
    version: ClassVar[int] = 1

    cause: Literal["answer_replaced", "organization_left"]


# --- programmes ---------------------------------------------------------------------------------


class ProgrammeEvent(EventContract):
    """Something that happened to one programme (abstract): keyed by it."""

    topic: ClassVar[Topic] = Topic.METRICS_PROGRAMMES

    programme_id: str
    organization_id: str
    occurred_at: datetime
    changed_by: Actor

    def aggregate_id(self) -> str:
        return self.programme_id


class ProgrammeCreated(ProgrammeEvent):
    """An organisation registered a programme with its theory of change."""

    name: ClassVar[str] = "metrics.programme_created"
    version: ClassVar[int] = 1

    programme_name: str
    themes: tuple[str, ...]
    regions: tuple[str, ...]
    macrozones: tuple[str, ...]


class ProgrammeUpdated(ProgrammeEvent):
    """The organisation changed its programme; `fields` names what changed."""

    name: ClassVar[str] = "metrics.programme_updated"
    version: ClassVar[int] = 1

    fields: tuple[str, ...]
    themes: tuple[str, ...]
    regions: tuple[str, ...]
    macrozones: tuple[str, ...]


class IndicatorDefined(ProgrammeEvent):
    """A programme's indicator with its baseline and target."""

    name: ClassVar[str] = "metrics.indicator_defined"
    version: ClassVar[int] = 1

    indicator_id: str
    indicator_name: str
    level: str
    unit: str
    direction: str
    baseline_value: float
    baseline_date: date
    target_value: float
    target_date: date
    disaggregations: tuple[str, ...]


class DisaggregatedValue(BaseModel):
    """One cell of a measurement: the dimension (`sex`, `age_group`, `region`), its value."""

    model_config = _FROZEN

    dimension: str
    key: str
    value: float


class MeasurementSubmitted(ProgrammeEvent):
    """The organisation reported a value for a period; staff review it."""

    name: ClassVar[str] = "metrics.measurement_submitted"
    version: ClassVar[int] = 1

    indicator_id: str
    measurement_id: str
    period_start: date
    period_end: date
    value: float
    evidence_level: str


class MeasurementReviewed(ProgrammeEvent):
    """Staff approved or rejected a measurement (an approval also publishes evidence)."""

    name: ClassVar[str] = "metrics.measurement_reviewed"
    version: ClassVar[int] = 1

    indicator_id: str
    measurement_id: str
    decision: Literal["approved", "rejected"]
    reason: str | None = None


class WorkPlanSet(ProgrammeEvent):
    """The organisation replaced its work plan: per area, needs identified and activities."""

    name: ClassVar[str] = "metrics.work_plan_set"
    version: ClassVar[int] = 1

    areas: tuple[str, ...]
    planned: int
    done: int


class EvidencePublished(EventContract):
    """An approved measurement as evidence of results, with what funders filter by.

    `value` is the measurement's own value for its period; `actual` and `progress_percent` are
    the indicator's after this approval: its latest approved measurement by `period_end`
    (approving an older period publishes its evidence without moving the indicator's actual)."""

    name: ClassVar[str] = "metrics.evidence_published"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.METRICS_EVIDENCE

    evidence_id: str  # the measurement's id: one piece of evidence per approved measurement
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
    disaggregated: tuple[DisaggregatedValue, ...] = ()
    source: str
    evidence_level: str
    evidence_url: str | None = None
    themes: tuple[str, ...]
    regions: tuple[str, ...]
    macrozones: tuple[str, ...]
    published_at: datetime

    def aggregate_id(self) -> str:
        return self.programme_id

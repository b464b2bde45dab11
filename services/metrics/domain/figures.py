"""Every formula the metrics service publishes, in one place, free of I/O.

Why one module: the Mesa's reports were checked by hand and some of their percentages do not
follow from their own counts (seed 001's work-plan table); every published figure here comes
from one formula, with one rounding rule and one suppression rule, so that a reader can redo
the arithmetic from the counts printed beside it.

Rounding (domain.md §5, contract "Metrics"): percentages are whole numbers rounded half up,
means have two decimals rounded half up. Arithmetic is exact (``Fraction``), never float
rounding: ``round(2.5)`` is 2 in Python and ``100 * 5 / 8`` may land a hair below a half.
A negative value (a progress that went backwards) rounds half away from zero, so that a
regression of 12.5 reads −13, mirroring a gain of 12.5 reading 13 (``Decimal``'s ROUND_HALF_UP).

Suppression: figures about people (attendees by gender or age group, survey ratings) never
show a cell under ``SUPPRESSION_THRESHOLD`` people; see ``shares`` for the secondary rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

__all__ = [
    "SATISFACTION_DIMENSIONS",
    "SUPPRESSION_THRESHOLD",
    "AreaCounts",
    "AreaFigures",
    "DimensionMean",
    "Direction",
    "Satisfaction",
    "Share",
    "WorkPlanFigures",
    "attendance_percent",
    "compliance_percent",
    "coverage_percent",
    "fulfilled_percent",
    "mean",
    "percent",
    "progress_percent",
    "protected_count",
    "round_half_up",
    "satisfaction",
    "sector_group",
    "shares",
    "target_matches_direction",
    "work_plan_figures",
]

SUPPRESSION_THRESHOLD: Final = 3
"""The fewest people a published cell may describe (fewer could single someone out)."""

_PRIVATE_SECTORS: Final = frozenset({"sociedad_civil", "privado"})

Number: TypeAlias = int | float


class _Figure(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- rounding -------------------------------------------------------------------------------


def round_half_up(value: Fraction) -> int:
    """Round an exact value to the nearest whole number, halves away from zero.

    The one rounding rule of every published figure; exact because it never leaves
    ``Fraction``. Halves away from zero keep a figure and its negative symmetric.
    """
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def _exact(value: Number) -> Fraction:
    """A number as the exact decimal it was written as (0.1 is one tenth, not its binary twin).

    Values reach the service as JSON decimals; taking the float's shortest ``repr`` keeps
    0.3 / 0.8 at exactly 3/8 so that a half stays a half.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number here")
    if isinstance(value, int):
        return Fraction(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return Fraction(repr(value))


def _non_negative(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} cannot be negative: {value}")


# --- percentages ----------------------------------------------------------------------------


def percent(count: int, over: int) -> int | None:
    """``count`` as a whole percent of ``over``, rounded half up; None when ``over`` is 0.

    None rather than 0 because a share of nobody is not known, not nothing. ``count`` may
    exceed ``over`` (coverage of 154%); negative counts are a caller's bug and raise.
    """
    _non_negative("count", count)
    _non_negative("over", over)
    if over == 0:
        return None
    # floor(100·count/over + ½) in integers: floor((200·count + over) / (2·over)).
    return (200 * count + over) // (2 * over)


def attendance_percent(attended: int, registered: int) -> int | None:
    """Participaciones over inscritos (domain.md §7); None when nobody held a place."""
    return percent(attended, registered)


def fulfilled_percent(fulfilled: int, not_dropped: int) -> int | None:
    """Fulfilled commitments over those not dropped (domain.md §7).

    A dropped commitment is no longer owed, so it counts neither for nor against.
    """
    return percent(fulfilled, not_dropped)


def sector_group(sector: str) -> str:
    """The Mesa's grouping of sectors: ``privado`` is sociedad civil and companies together.

    Seed 003's "88% sector privado" counts civil society with companies; every other sector
    is its own group (``publico``, ``academia``, ``organismo_internacional``).
    """
    return "privado" if sector in _PRIVATE_SECTORS else sector


# --- shares and suppression -----------------------------------------------------------------


class Share(_Figure):
    """One ``{key, count, percent}`` cell of a breakdown; a suppressed cell shows neither."""

    key: str
    count: int | None
    percent: int | None
    suppressed: bool = False


def _ordered_keys(counts: Mapping[str, int], order: Sequence[str] | None) -> list[str]:
    if order is None:
        return sorted(counts, key=lambda key: (-counts[key], key))
    if len(set(order)) != len(order):
        raise ValueError("order names a key twice")
    known = set(order)
    return [*order, *sorted(key for key in counts if key not in known)]


def _suppressed_keys(counts: Mapping[str, int], keys: Sequence[str], below: int) -> set[str]:
    """Primary cells (0 < count < ``below``) plus, when exactly one, the next smallest cell.

    Secondary suppression: with a single hidden cell and the total published beside it, the
    hidden count is the total minus the others. Hiding also the smallest other non-zero cell
    (ties: the first key alphabetically) leaves two unknowns and one equation. Zero cells are
    never hidden (an empty cell describes nobody). When the hidden cell is the only non-zero
    one, no other cell can protect it: it equals the total, which is then itself under the
    threshold, and the caller must withhold that total too (``protected_count``).

    This is the standard rule, not a full audit: an attacker who knows it can still narrow
    hidden cells from their known sum (two hidden cells summing to 2 are both 1). Breakdowns
    here are small and the totals beside them are what the contract asks for.
    """
    primary = {key for key in keys if 0 < counts.get(key, 0) < below}
    if len(primary) != 1:
        return primary
    others = [key for key in keys if key not in primary and counts.get(key, 0) > 0]
    if not others:
        return primary
    secondary = min(others, key=lambda key: (counts[key], key))
    return primary | {secondary}


def shares(
    counts: Mapping[str, int],
    over: int,
    *,
    order: Sequence[str] | None = None,
    suppress_below: int | None = None,
) -> list[Share]:
    """A breakdown: each key's count and whole percent of ``over``, the respondents.

    ``over`` is who answered the question (domain.md §5), not the sum of the counts: for a
    multi-valued field (themes, needs) one respondent counts in several keys and the shares
    add up to more than 100%. With ``order`` (a fixed vocabulary) every key in it is listed,
    zero counts included, then any other key in ``counts`` alphabetically; without it, by
    count descending, then key. ``suppress_below`` is for figures about people
    (``SUPPRESSION_THRESHOLD``): see ``_suppressed_keys`` for which cells are hidden.
    """
    for key, count in counts.items():
        _non_negative(f"count of {key!r}", count)
    keys = _ordered_keys(counts, order)
    hidden = set() if suppress_below is None else _suppressed_keys(counts, keys, suppress_below)
    result = []
    for key in keys:
        if key in hidden:
            result.append(Share(key=key, count=None, percent=None, suppressed=True))
        else:
            count = counts.get(key, 0)
            result.append(Share(key=key, count=count, percent=percent(count, over)))
    return result


def protected_count(count: int, *, suppress_below: int = SUPPRESSION_THRESHOLD) -> int | None:
    """A head count as published next to a suppressed breakdown: None when 0 < count < threshold.

    For totals such as the respondents of a breakdown about people: a total of 2 attendees
    who all answered ``mujer`` would tell what the suppressed cell hides.
    """
    _non_negative("count", count)
    return None if 0 < count < suppress_below else count


# --- satisfaction ---------------------------------------------------------------------------


SATISFACTION_DIMENSIONS: Final[tuple[str, ...]] = (
    "experiencia_general",
    "temas",
    "facilitacion",
    "metodologia",
    "conexion",
    "exposiciones",
    "duracion",
)
"""The survey's dimensions in the contract's order, the order they are always answered in."""


def mean(total: Number, n: int) -> float | None:
    """``total / n`` to two decimals rounded half up (1.005 → 1.01); None when nobody rated.

    Exact arithmetic for the same reason as ``percent``: ``round(1.005, 2)`` is 1.0.
    """
    _non_negative("n", n)
    if n == 0:
        return None
    hundredths = round_half_up(_exact(total) * 100 / n)
    return float(Fraction(hundredths, 100))


class DimensionMean(_Figure):
    """One survey dimension: the mean over the ``n`` responses that rated it."""

    dimension: str
    mean: float | None
    n: int | None
    suppressed: bool = False


class Satisfaction(_Figure):
    """The contract's ``{responses, dimensions: [{dimension, mean, n}]}``, with suppression."""

    responses: int | None
    dimensions: list[DimensionMean]
    suppressed: bool = False


def satisfaction(
    ratings: Mapping[str, tuple[int, int]],
    responses: int,
    *,
    suppress_below: int = SUPPRESSION_THRESHOLD,
) -> Satisfaction:
    """Per-dimension means from ``{dimension: (sum of ratings, n)}`` and the response count.

    Always every dimension, in the contract's order (an unrated one has ``n`` 0 and no mean).
    A dimension rated by fewer than ``suppress_below`` people hides its mean (one rating's
    mean is that person's answer) but keeps ``n``, which says who rated, not what. With fewer
    than ``suppress_below`` responses the whole block is hidden, the count included, since
    every figure in it would describe one or two people. No secondary rule here: means add up
    to no published total, so none can be recovered by subtraction.
    """
    _non_negative("responses", responses)
    unknown = set(ratings) - set(SATISFACTION_DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown survey dimensions: {sorted(unknown)}")
    for dimension, (_, n) in ratings.items():
        _non_negative(f"n of {dimension!r}", n)
        if n > responses:
            raise ValueError(f"{dimension!r} rated by {n}, more than the {responses} responses")
    if 0 < responses < suppress_below:
        hidden = [
            DimensionMean(dimension=dimension, mean=None, n=None, suppressed=True)
            for dimension in SATISFACTION_DIMENSIONS
        ]
        return Satisfaction(responses=None, dimensions=hidden, suppressed=True)
    dimensions = []
    for dimension in SATISFACTION_DIMENSIONS:
        total, n = ratings.get(dimension, (0, 0))
        if 0 < n < suppress_below:
            dimensions.append(DimensionMean(dimension=dimension, mean=None, n=n, suppressed=True))
        else:
            dimensions.append(DimensionMean(dimension=dimension, mean=mean(total, n), n=n))
    return Satisfaction(responses=responses, dimensions=dimensions)


# --- programme indicators -------------------------------------------------------------------


Direction: TypeAlias = Literal["increase", "decrease"]


def target_matches_direction(baseline: Number, target: Number, direction: Direction) -> bool:
    """Whether a target lies on the indicator's good side of its baseline (or equals it).

    For the API to refuse, when an indicator is defined, a target that ``progress_percent``
    would refuse later: an "increase" indicator whose target is below its baseline.
    """
    if direction == "increase":
        return _exact(target) >= _exact(baseline)
    return _exact(target) <= _exact(baseline)


def progress_percent(
    baseline: Number, target: Number, actual: Number | None, *, direction: Direction
) -> int | None:
    """Progress towards the target, ``(actual − baseline) / (target − baseline)``, as a percent.

    Direction-aware by construction: a "decrease" indicator has its target below its baseline,
    so falling towards it is positive progress. Whole percent rounded half up (halves away from
    zero, so −12.5 is −13), like every other percentage; not clamped: over 100 means the target
    was beaten, below 0 that the indicator moved away from it, both worth seeing.

    When target equals baseline (a "keep it at least/at most here" target) there is no distance
    to cover: 100 when the actual meets the target in the indicator's direction (at or above it
    for "increase", at or below for "decrease"), 0 otherwise — met or not, nothing in between.

    None when there is no actual yet (no approved measurement). A target on the wrong side of
    the baseline for ``direction`` raises ``ValueError`` (see ``target_matches_direction``):
    its "progress" would call a worsening an advance.
    """
    if actual is None:
        return None
    start, goal, now = _exact(baseline), _exact(target), _exact(actual)
    if not target_matches_direction(baseline, target, direction):
        raise ValueError(
            f"a {direction!r} indicator cannot have target {target} against baseline {baseline}"
        )
    if goal == start:
        met = now >= goal if direction == "increase" else now <= goal
        return 100 if met else 0
    return round_half_up((now - start) / (goal - start) * 100)


# --- work plans -----------------------------------------------------------------------------


def coverage_percent(planned: int, needs_identified: int | None) -> int | None:
    """Planned activities over the needs a baseline diagnosis identified (seed 001's "cobertura").

    None when the area's needs were not diagnosed (``needs_identified`` None, seed 001's
    "sin información") or were 0: there is nothing to be a share of. Can exceed 100 when more
    activities are planned than needs were found.
    """
    if needs_identified is None:
        return None
    return percent(planned, needs_identified)


def compliance_percent(done: int, planned: int) -> int | None:
    """Done activities over planned ones (seed 001's "cumplimiento"); None with nothing planned.

    ``planned`` counts every planned activity, dropped ones too, as seed 001 does
    (Gestión Institucional: 21 done of 44 planned, 6 of them dropped, is 48%).
    """
    return percent(done, planned)


class AreaCounts(_Figure):
    """One area ("ámbito") of a work plan as counted: needs found, activities planned and done."""

    area: str
    needs_identified: int | None
    planned: int
    done: int


class AreaFigures(_Figure):
    """An area, or the total, with its counts beside its two percentages."""

    area: str
    needs_identified: int | None
    planned: int
    done: int
    coverage_percent: int | None
    compliance_percent: int | None


class WorkPlanFigures(_Figure):
    """Each area and the total, as ``GET /v1/programmes/{id}/work-plan`` publishes them.

    ``planned_where_diagnosed`` is the numerator of the total's coverage, printed so that the
    total can be checked: it leaves out activities of areas whose needs were never diagnosed.
    """

    areas: list[AreaFigures]
    total: AreaFigures
    planned_where_diagnosed: int


def _area_figures(area: str, needs: int | None, planned: int, done: int) -> AreaFigures:
    return AreaFigures(
        area=area,
        needs_identified=needs,
        planned=planned,
        done=done,
        coverage_percent=coverage_percent(planned, needs),
        compliance_percent=compliance_percent(done, planned),
    )


def work_plan_figures(areas: Sequence[AreaCounts], *, total_name: str = "total") -> WorkPlanFigures:
    """Coverage and compliance per area and in total.

    The total's compliance is every done activity over every planned one. Its coverage is over
    the areas whose needs were diagnosed only: planned activities of an undiagnosed area cover
    no identified need, and counting them would inflate the ratio (seed 001: 223 of the 226
    activities fall in diagnosed areas, against 291 needs: 77%, not 226 / 291 = 78%). With no
    area diagnosed, the total has no needs and no coverage.
    """
    for area in areas:
        for name, value in (("planned", area.planned), ("done", area.done)):
            _non_negative(f"{name} of {area.area!r}", value)
        if area.needs_identified is not None:
            _non_negative(f"needs_identified of {area.area!r}", area.needs_identified)
        if area.done > area.planned:
            raise ValueError(f"{area.area!r}: {area.done} done of {area.planned} planned")
    diagnosed = [area for area in areas if area.needs_identified is not None]
    needs = sum(area.needs_identified or 0 for area in diagnosed) if diagnosed else None
    planned_where_diagnosed = sum(area.planned for area in diagnosed)
    planned = sum(area.planned for area in areas)
    done = sum(area.done for area in areas)
    total = AreaFigures(
        area=total_name,
        needs_identified=needs,
        planned=planned,
        done=done,
        coverage_percent=coverage_percent(planned_where_diagnosed, needs),
        compliance_percent=compliance_percent(done, planned),
    )
    return WorkPlanFigures(
        areas=[_area_figures(a.area, a.needs_identified, a.planned, a.done) for a in areas],
        total=total,
        planned_where_diagnosed=planned_where_diagnosed,
    )

"""Schemathesis hooks: the metrics service's programme rules that its OpenAPI document can only
state in prose, taught to the generator (`schemathesis.toml` loads them through
`schema_rules`; the suite imports this module).

JSON Schema cannot compare two fields nor see the stored indicator, so the document describes
these rules and this module repairs generated cases:

* an indicator's target lies on the good side of its baseline for its direction (or equals it)
  and is dated after it;
* a measurement's period does not end before it starts, and its disaggregated values name the
  indicator's dimensions, each category once, adding up to the total when a dimension is given
  in full and never exceeding it otherwise (the indicator is the one in the path: `KNOWN`);
* a rejection says why (`reason`);
* a work plan names each area once.

Schemathesis calls `before_call` for every request it sends, whatever the phase (a case of the
coverage phase met the target rule unrepaired with `map_case` alone), so each repair runs there
too.

What the service knows (each indicator's disaggregations) is `KNOWN`: a test module that seeds
records says so with `teach`, and every answer that shows an indicator tells its
disaggregations (`after_call`). A test module that points the path at a seeded record just
before the request (`openapi_conformance.ids_from`) calls `repair_for_path(case)` again then.

Each repair touches only values that are well-formed, so a generated invalid value stays
invalid and a negative case stays negative; checks are not affected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import schemathesis
from pydantic import TypeAdapter, ValidationError

from services.metrics.domain.programme_forms import (
    COMPLETE_VALUES,
    DisaggregatedInput,
    IndicatorInput,
    MeasurementInput,
    Number,
    WorkPlanInput,
)
from services.metrics.domain.programme_rules import disaggregation_errors
from shared.fields import BLANK_PATTERN, Day

_INDICATORS = "/v1/programmes/{programme_id}/indicators"
_MEASUREMENTS = "/v1/indicators/{indicator_id}/measurements"
_REVIEW = "/v1/measurements/{measurement_id}/review"
_WORK_PLAN = "/v1/programmes/{programme_id}/work-plan"
_DAY: TypeAdapter[date] = TypeAdapter(Day)
_NUMBER: TypeAdapter[float] = TypeAdapter(Number)
_CELLS: TypeAdapter[list[Any]] = TypeAdapter(list[DisaggregatedInput])


@dataclass
class Knowledge:
    disaggregations: dict[str, list[str]] = field(default_factory=dict)  # indicator id → dims


KNOWN = Knowledge()


def teach(*, disaggregations: Mapping[str, list[str]]) -> None:
    KNOWN.disaggregations.update(disaggregations)


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    repair(case)
    return case


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Again just before sending: every phase calls this one (and the path may have been
    pointed at a seeded record meanwhile)."""
    repair(case)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Every indicator an answer shows tells its disaggregations."""
    path = case.operation.path
    if not (path.startswith(("/v1/programmes", "/v1/indicators")) and response.status_code < 300):
        return
    try:
        answer = response.json()
    except ValueError:
        return
    shown = answer.get("indicators", [answer]) if isinstance(answer, dict) else []
    for indicator in shown if isinstance(shown, list) else []:
        if isinstance(indicator, dict) and isinstance(indicator.get("disaggregations"), list):
            KNOWN.disaggregations[str(indicator.get("id"))] = indicator["disaggregations"]


def repair(case: Any) -> None:
    """Every repair this module knows (idempotent: a repaired case is left as it is)."""
    body = case.body
    if not isinstance(body, dict):
        return
    route = (case.operation.method.upper(), case.operation.path)
    if route == ("POST", _INDICATORS):
        _target_on_the_good_side(body)
    elif route == ("POST", _REVIEW):
        _rejection_with_reason(body)
    elif route == ("PUT", _WORK_PLAN):
        _areas_once(body)
    elif route == ("POST", _MEASUREMENTS):
        indicator_id = str((case.path_parameters or {}).get("indicator_id"))
        _period_in_order(body)
        _cells_the_indicator_takes(body, KNOWN.disaggregations.get(indicator_id))


# The repairs that depend on the record the path names are all of them, for a module that points
# the path just before the call.
repair_for_path = repair


def _valid(adapter: TypeAdapter[Any], value: Any) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def _target_on_the_good_side(body: dict[str, Any]) -> None:
    try:
        sent = IndicatorInput.model_validate(body)
    except ValidationError:
        return  # a negative case (or malformed somewhere): leave it as generated
    baseline, target = body["baseline"], body["target"]
    wrong = (
        sent.target.value < sent.baseline.value
        if sent.direction == "increase"
        else sent.target.value > sent.baseline.value
    )
    if wrong:
        target["value"] = baseline["value"]  # a target equal to its baseline is allowed
    if sent.target.date <= sent.baseline.date:
        if sent.baseline.date < date.max:
            target["date"] = (sent.baseline.date + timedelta(days=1)).isoformat()
        else:
            baseline["date"] = (sent.target.date - timedelta(days=1)).isoformat()


def _period_in_order(body: dict[str, Any]) -> None:
    start, end = _valid(_DAY, body.get("period_start")), _valid(_DAY, body.get("period_end"))
    if start is not None and end is not None and end < start:
        body["period_start"], body["period_end"] = body["period_end"], body["period_start"]


def _cells_the_indicator_takes(body: dict[str, Any], allowed: list[str] | None) -> None:
    """Keep the well-formed cells of one dimension the indicator takes, once each, and make
    the total hold them; failing that, no cells (always accepted)."""
    total = _valid(_NUMBER, body.get("value"))
    cells = _valid(_CELLS, body.get("disaggregated", []))
    if allowed is None or total is None or cells is None or not cells:
        return
    raw: list[dict[str, Any]] = body["disaggregated"]
    dimension = next((c.dimension for c in cells if c.dimension in allowed), None)
    kept, seen = [], set()
    for cell, sent in zip(cells, raw, strict=True):
        if cell.dimension == dimension and cell.key not in seen:
            seen.add(cell.key)
            kept.append((cell, sent))
    parts = sum(c.value for c, _ in kept)
    body["disaggregated"] = [sent for _, sent in kept]
    complete = dimension in COMPLETE_VALUES and set(COMPLETE_VALUES[dimension]) <= seen
    if (complete or parts > total) and _valid(_NUMBER, parts) is not None:
        body["value"] = parts
    try:
        measured = MeasurementInput.model_validate(body)
    except ValidationError:
        body["disaggregated"] = []
        return
    if disaggregation_errors(allowed, measured.disaggregated, measured.value):
        body["disaggregated"] = []


def _rejection_with_reason(body: dict[str, Any]) -> None:
    reason = body.get("reason")
    blank = reason is None or (isinstance(reason, str) and _is_blank(reason))
    if body.get("decision") == "rejected" and blank:
        body["reason"] = "El informe no respalda el valor."


def _is_blank(text: str) -> bool:
    return re.fullmatch(BLANK_PATTERN, text) is not None


def _areas_once(body: dict[str, Any]) -> None:
    try:
        WorkPlanInput.model_validate(body)
    except ValidationError:
        return  # a negative case: leave it as generated
    kept, seen = [], set()
    for area in body["areas"]:
        key = area["area"].strip().casefold()
        if key not in seen:
            seen.add(key)
            kept.append(area)
    body["areas"] = kept

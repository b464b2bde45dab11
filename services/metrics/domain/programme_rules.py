"""The rules about a programme's parts that a request's schema cannot state: they compare one
field with another (a target with its baseline) or with the indicator a measurement is for.
Each returns the errors as `[{field, message}]`, for the aggregate to refuse with a 422 that
names every bad field at once (`programmes`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from services.metrics.domain.figures import target_matches_direction
from services.metrics.domain.programme_forms import (
    COMPLETE_VALUES,
    DisaggregatedValue,
    IndicatorInput,
)

__all__ = ["disaggregation_errors", "indicator_errors"]

_DIRECTION_WORDS: Final = {"increase": "aumentar", "decrease": "disminuir"}


def _exact(value: float) -> Decimal:
    """A JSON number as the decimal it was written as (0.1 + 0.2 is 0.3 here)."""
    return Decimal(repr(value))


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def indicator_errors(data: IndicatorInput) -> list[dict[str, str]]:
    """A target on the wrong side of its baseline would make a worsening read as progress."""
    errors = []
    if not target_matches_direction(data.baseline.value, data.target.value, data.direction):
        side = "menor" if data.direction == "increase" else "mayor"
        errors.append(
            {
                "field": "target.value",
                "message": (
                    f"Un indicador que debe {_DIRECTION_WORDS[data.direction]} "
                    f"({data.direction}) no puede tener una meta {side} que su línea de base "
                    f"({_number(_exact(data.baseline.value))})."
                ),
            }
        )
    if data.target.date <= data.baseline.date:
        errors.append(
            {
                "field": "target.date",
                "message": "La fecha de la meta debe ser posterior a la de la línea de base.",
            }
        )
    return errors


def disaggregation_errors(
    allowed: Sequence[str], cells: Sequence[DisaggregatedValue], total: float
) -> list[dict[str, str]]:
    """Each cell names one of the indicator's dimensions and a category once; a dimension
    given in full adds up to the total, any other does not exceed it (parts of a total)."""
    errors: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    sums: dict[str, Decimal] = {}
    keys: dict[str, set[str]] = {}
    for index, cell in enumerate(cells):
        field = f"disaggregated.{index}"
        if cell.dimension not in allowed:
            offered = ", ".join(allowed) if allowed else "ninguna"
            errors.append(
                {
                    "field": field,
                    "message": f"El indicador no se desagrega por {cell.dimension}; sus "
                    f"desagregaciones son: {offered}.",
                }
            )
            continue
        if (cell.dimension, cell.key) in seen:
            errors.append(
                {"field": field, "message": f"{cell.dimension} «{cell.key}» aparece dos veces."}
            )
            continue
        seen.add((cell.dimension, cell.key))
        sums[cell.dimension] = sums.get(cell.dimension, Decimal(0)) + _exact(cell.value)
        keys.setdefault(cell.dimension, set()).add(cell.key)
    whole = _exact(total)
    for dimension, added in sums.items():
        complete = (
            dimension in COMPLETE_VALUES and set(COMPLETE_VALUES[dimension]) <= keys[dimension]
        )
        if complete and added != whole:
            errors.append(
                {
                    "field": "disaggregated",
                    "message": f"Los valores por {dimension} cubren todas sus categorías y suman "
                    f"{_number(added)}; deben sumar el total (value), {_number(whole)}.",
                }
            )
        elif not complete and added > whole:
            errors.append(
                {
                    "field": "disaggregated",
                    "message": f"Los valores por {dimension} suman {_number(added)}, más que el "
                    f"total (value), {_number(whole)}.",
                }
            )
    return errors

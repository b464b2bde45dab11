"""FastAPI dependencies of the metrics service: the unit of work, the day and the time.
Who is calling (`Caller`, `Staff`, ...) is `shared.access`, as in every service."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends

from services.metrics.storage.unit_of_work import MetricsUnitOfWork
from shared.runtime import Runtime, get_runtime

__all__ = ["UoW", "now", "today"]

_CHILE = ZoneInfo("America/Santiago")


async def get_unit_of_work(runtime: Annotated[Runtime, Depends(get_runtime)]) -> MetricsUnitOfWork:
    return MetricsUnitOfWork(runtime.outbox)


UoW = Annotated[MetricsUnitOfWork, Depends(get_unit_of_work)]


def today() -> date:
    """Due dates are days in Chile."""
    return datetime.now(UTC).astimezone(_CHILE).date()


def now() -> datetime:
    return datetime.now(UTC)

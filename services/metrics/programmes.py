"""Use cases of programmes and their evidence: what the routes and the evidence handler call.

Each loads the programme, checks who may act on it, asks the domain to decide, and saves the
new state with the events the decision produced in one write. Decisions about one programme
are serialised in this process (`MetricsUnitOfWork.decisions`) and retried on a compare-and-set
conflict from another process. Only the programme's organisation changes it; staff review its
measurements; the key is what tells them apart (`shared.principals`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from services.metrics.domain.iati import Reporter, iati_document
from services.metrics.domain.programme_forms import (
    IndicatorInput,
    MeasurementInput,
    ProgrammeCreate,
    ReviewInput,
    WorkPlanInput,
)
from services.metrics.domain.programmes import (
    Indicator,
    Measurement,
    Programme,
    programme_id_of,
)
from services.metrics.storage.unit_of_work import MetricsUnitOfWork
from shared.errors import Forbidden, NotFound, Unavailable
from shared.events.base import EventContract
from shared.events.metrics import EvidencePublished
from shared.principals import Principal
from shared.storage.repository import ConcurrentModification, Versioned

T = TypeVar("T")
Decision = Callable[[Programme], tuple[T, list[EventContract]]]

ATTEMPTS = 8
_OWNER_ONLY = "Solo la organización dueña del programa puede hacer esto."
NO_PROGRAMME = "El programa no existe."
NO_INDICATOR = "El indicador no existe."
NO_MEASUREMENT = "La medición no existe."


def new_id() -> str:
    return uuid.uuid4().hex


def organization_of(caller: Principal) -> str:
    """The organisation a programme is registered for: the caller's own key's."""
    if caller.kind != "organization" or caller.id is None:
        raise Forbidden("Solo una organización (con su clave) registra sus programas.")
    return caller.id


async def create_programme(
    uow: MetricsUnitOfWork, data: ProgrammeCreate, caller: Principal, now: datetime
) -> Programme:
    programme, events = Programme.create(
        data,
        programme_id=new_id(),
        organization_id=organization_of(caller),
        actor=caller.actor(),
        now=now,
    )
    await uow.programmes.add(programme, events)
    return programme


async def load(
    uow: MetricsUnitOfWork, programme_id: str | None, missing: str = NO_PROGRAMME
) -> Versioned[Programme]:
    """The programme; `missing` says what was not found (a part's id names its programme)."""
    found = await uow.programmes.get(programme_id) if programme_id else None
    if found is None:
        raise NotFound(missing)
    return found


async def programme_of_indicator(
    uow: MetricsUnitOfWork, indicator_id: str
) -> tuple[Programme, Indicator]:
    programme = (await load(uow, programme_id_of(indicator_id, "i"), NO_INDICATOR)).entity
    return programme, programme.indicator(indicator_id)


async def decide(
    uow: MetricsUnitOfWork,
    programme_id: str | None,
    decision: Decision[T],
    *,
    owner: Principal | None = None,
    missing: str = NO_PROGRAMME,
) -> T:
    """Load the programme, check `owner` owns it (when given), apply one decision, save it
    with its events; again on a conflict."""
    if not programme_id:
        raise NotFound(missing)
    async with uow.decisions.hold("programmes", programme_id):
        for attempt in range(ATTEMPTS):
            current = await load(uow, programme_id, missing)
            if owner is not None and not owner.owns(current.entity.organization_id):
                raise Forbidden(_OWNER_ONLY)
            result, events = decision(current.entity)
            try:
                await uow.programmes.save(current.entity, current.version, events)
                return result
            except ConcurrentModification:
                if attempt == ATTEMPTS - 1:
                    raise
    raise AssertionError("unreachable")


async def define_indicator(
    uow: MetricsUnitOfWork,
    programme_id: str,
    data: IndicatorInput,
    caller: Principal,
    now: datetime,
) -> tuple[Programme, Indicator]:
    def define(p: Programme) -> tuple[tuple[Programme, Indicator], list[EventContract]]:
        indicator, events = p.define_indicator(data, actor=caller.actor(), now=now)
        return (p, indicator), events

    return await decide(uow, programme_id, define, owner=caller)


async def submit_measurement(
    uow: MetricsUnitOfWork,
    indicator_id: str,
    data: MeasurementInput,
    caller: Principal,
    now: datetime,
) -> tuple[Programme, Measurement]:
    def submit(p: Programme) -> tuple[tuple[Programme, Measurement], list[EventContract]]:
        measurement, events = p.submit_measurement(
            indicator_id, data, actor=caller.actor(), now=now
        )
        return (p, measurement), events

    return await decide(
        uow, programme_id_of(indicator_id, "i"), submit, owner=caller, missing=NO_INDICATOR
    )


async def review_measurement(
    uow: MetricsUnitOfWork,
    measurement_id: str,
    data: ReviewInput,
    staff: Principal,
    now: datetime,
) -> tuple[Programme, Measurement]:
    """Staff only (the route says so): an approval publishes the evidence in the same write."""

    def review(p: Programme) -> tuple[tuple[Programme, Measurement], list[EventContract]]:
        measurement, events = p.review(measurement_id, data, actor=staff.actor(), now=now)
        return (p, measurement), events

    return await decide(uow, programme_id_of(measurement_id, "m"), review, missing=NO_MEASUREMENT)


async def set_work_plan(
    uow: MetricsUnitOfWork,
    programme_id: str,
    data: WorkPlanInput,
    caller: Principal,
    now: datetime,
) -> Programme:
    def replace(p: Programme) -> tuple[Programme, list[EventContract]]:
        _, events = p.set_work_plan(data, actor=caller.actor(), now=now)
        return p, events

    return await decide(uow, programme_id, replace, owner=caller)


async def iati_xml(uow: MetricsUnitOfWork, programme_id: str, now: datetime) -> bytes:
    """The programme as an IATI activity, reported by its organisation as the registry
    published it (name, RUT, legal form); 503 until this service has heard of it."""
    programme = (await load(uow, programme_id)).entity
    known = await uow.organizations.get(programme.organization_id)
    if known is None:
        raise Unavailable(
            "Los datos públicos de la organización aún no llegan a este servicio; "
            "vuelva a intentarlo en unos segundos."
        )
    return iati_document(programme, Reporter.of(known.entity.snapshot), now)


async def keep_evidence(uow: MetricsUnitOfWork, evidence: EvidencePublished) -> None:
    """Fold published evidence into the list, once (the event's position is recorded)."""
    if await uow.evidence.get(evidence.evidence_id) is None:
        await uow.evidence.add(evidence)

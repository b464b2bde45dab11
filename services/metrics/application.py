"""The metrics service's use cases: folding events into projections, and reading figures.

Folds run in handlers: each write records the event's position (`shared.storage.repository`),
so a redelivered event changes nothing, document by document. A fold that touches several
documents writes the shared ones first (buckets) and the one it reads its "before" from last
(the organisation), so a crash in between is completed by the redelivery, which finds the same
"before" and skips what already took it. Folds over shared documents are serialised in this
process (`MetricsUnitOfWork.folds`).
"""

from __future__ import annotations

from datetime import date

from services.metrics.domain.encuentro_stats import (
    CommitmentFigures,
    EncuentroStatistics,
    EncuentroTally,
    commitment_figures,
    statistics,
)
from services.metrics.domain.organizations import KnownOrganization
from services.metrics.domain.registry_profile import (
    BucketKey,
    ProfileFacts,
    ProfileQuery,
    RegistryProfile,
    Tally,
    bucket_ids,
    buckets_to_read,
    profile_of,
)
from services.metrics.storage.unit_of_work import MetricsUnitOfWork
from shared.errors import NotFound
from shared.events.base import EventContract

PROFILE_LOCK = ("profile", "all")


async def keep_organization(uow: MetricsUnitOfWork, seen: KnownOrganization) -> None:
    """Move the organisation's contribution from the buckets of its old state to its new one."""
    async with uow.folds.hold(*PROFILE_LOCK):
        found = await uow.organizations.get(seen.id)
        if found is not None and (found.already_applied or not seen.newer_than(found.entity)):
            return
        await _move(uow, found.entity.facts() if found is not None else None, seen.facts())
        if found is None:
            await uow.organizations.add(seen)
        else:
            await uow.organizations.save(seen, found.version)


async def _move(uow: MetricsUnitOfWork, before: ProfileFacts | None, after: ProfileFacts) -> None:
    deltas: dict[str, tuple[BucketKey, Tally]] = {}
    if before is not None:
        for key in bucket_ids(before):
            deltas.setdefault(key.id, (key, Tally()))[1].add(before.tally(), -1)
    for key in bucket_ids(after):
        deltas.setdefault(key.id, (key, Tally()))[1].add(after.tally())
    for bucket_id, (key, delta) in deltas.items():
        if delta.empty:
            continue
        found = await uow.buckets.get(bucket_id)
        if found is None:
            await uow.buckets.add((key, delta))
        elif not found.already_applied:
            bucket_key, tally = found.entity
            tally.add(delta)
            await uow.buckets.save((bucket_key, tally), found.version)


async def registry_profile(uow: MetricsUnitOfWork, query: ProfileQuery) -> RegistryProfile:
    ids = buckets_to_read(query)
    tallies = await (uow.buckets.by_ids(ids) if ids is not None else uow.buckets.by_days(query))
    return profile_of(query, tallies)


async def fold_encuentro_event(
    uow: MetricsUnitOfWork, encuentro_id: str, event: EventContract
) -> None:
    async with uow.folds.hold("tallies", encuentro_id):
        found = await uow.tallies.get(encuentro_id)
        if found is None:
            tally = EncuentroTally(encuentro_id=encuentro_id)
            if tally.apply(event):
                await uow.tallies.add(tally)
        elif not found.already_applied and found.entity.apply(event):
            await uow.tallies.save(found.entity, found.version)


async def _sectors(uow: MetricsUnitOfWork, tallies: list[EncuentroTally]) -> dict[str, str]:
    ids = sorted({seat.organization_id for t in tallies for seat in t.seats.values()})
    return {org.id: org.sector for org in await uow.organizations.get_many(ids)}


async def encuentro_statistics(
    uow: MetricsUnitOfWork, encuentro_id: str, today: date
) -> EncuentroStatistics:
    found = await uow.tallies.get(encuentro_id)
    if found is None or found.entity.status in (None, "draft"):
        raise NotFound("No hay estadísticas de ese encuentro.")
    tallies = [found.entity]
    return statistics(tallies, await _sectors(uow, tallies), today)


async def cycle_statistics(
    uow: MetricsUnitOfWork, cycle: str, today: date
) -> tuple[int, EncuentroStatistics]:
    tallies = [t for t in await uow.tallies.of_cycle(cycle) if t.status not in (None, "draft")]
    if not tallies:
        raise NotFound("No hay encuentros de ese ciclo.")
    return len(tallies), statistics(tallies, await _sectors(uow, tallies), today)


async def commitment_statistics(
    uow: MetricsUnitOfWork, macrozone: str | None, region: str | None, today: date
) -> tuple[CommitmentFigures, dict[str, CommitmentFigures]]:
    """All commitments (they are few: tens per encuentro), then per region."""
    chosen = [
        c
        for t in await uow.tallies.all()
        if macrozone is None or t.macrozone == macrozone
        for c in t.commitments.values()
        if region is None or c.region == region
    ]
    regions = sorted({c.region for c in chosen})
    per_region = {
        r: commitment_figures([c for c in chosen if c.region == r], today) for r in regions
    }
    return commitment_figures(chosen, today), per_region

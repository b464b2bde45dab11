"""The metrics service's use cases: folding events into projections, and reading figures.

Folds run in handlers: each write records the event's position (`shared.storage.repository`),
so a redelivered event changes nothing, document by document. Organisation events are folded a
partition's run at a time (`fold_organizations`), each document recording the highest offset
folded into it. A fold that touches several
documents writes the shared ones first (buckets) and the one it reads its "before" from last
(the organisation), so a crash in between is completed by the redelivery, which finds the same
"before" and skips what already took it. Folds over shared documents are serialised in this
process (`MetricsUnitOfWork.folds`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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
from shared.events.registry import OrganizationEvent
from shared.kafka.handlers import Delivered
from shared.storage.repository import Position

PROFILE_LOCK = ("profile", "all")


async def fold_organizations(
    uow: MetricsUnitOfWork, events: Sequence[Delivered[OrganizationEvent]]
) -> dict[str, KnownOrganization]:
    """Fold one partition's run of organisation events (in offset order) into the
    organisations and the profile buckets; the organisations of the run as they are now.

    Work per run, not per event: each organisation read once, its events folded in memory (each
    moves its contribution from the buckets of its state before to those of its state after),
    the contributions summed per bucket, each bucket read and written once, the new
    organisations inserted in one command and the others saved once each.

    Redelivery-safe, document by document, by positions (`applied_positions`): every document
    this writes records, in the same single-document write as its new state, the highest offset
    of the partition folded into it, and an event whose offset is at or below what a document
    holds is already in that document. Buckets are written first, organisations last:

    - An organisation holding offset `o` took every one of its events up to `o`, and was
      written only after every bucket of that run, each recording the highest offset whose
      contribution it took. So its events up to `o` are in every bucket they touched: they are
      skipped whole (no contribution to any bucket), and its later ones fold from the state it
      holds.
    - An organisation not written (a crash before its write) is read as the same "before", and
      its events give the same contributions as the first time (a contribution depends only
      on the organisation's state before the event and the event). Each bucket adds those of
      events above the offset it holds and skips the others, which it already took; so a
      bucket written before the crash takes nothing twice, and one not written takes all.
    - A bucket is written whenever an event above its offset touched it, even when the run's
      contributions cancel out: a later delivery may fold only some of those events (the
      organisations written meanwhile skip theirs), and the offset is what tells it the
      bucket already took the others.

    The same holds when a redelivered run is cut at other offsets than the first (polls
    differ), when the consumer retries the events one by one after a failed batch (each alone,
    by the same rules), and across partitions (a bucket keeps one offset per partition).
    Folds are serialised in this process (`PROFILE_LOCK`); across processes the
    compare-and-sets decide and the consumer retries.
    """
    if not events:
        return {}
    partition = events[0].position.partition
    if any(e.position.partition != partition for e in events):
        raise ValueError("a run of events is one partition's")
    async with uow.folds.hold(*PROFILE_LOCK):
        ids = list(dict.fromkeys(e.payload.organization_id for e in events))
        read = await asyncio.gather(*(uow.organizations.get(i) for i in ids))
        found = dict(zip(ids, read, strict=True))
        state = {i: f.entity if f is not None else None for i, f in found.items()}
        held = {
            i: f.positions.get(partition, -1) if f is not None else -1 for i, f in found.items()
        }
        folded_to: dict[str, int] = {}  # organisation → the highest offset it takes in this run
        touched: dict[str, tuple[BucketKey, list[tuple[int, Tally]]]] = {}
        for event in events:
            seen = KnownOrganization.from_event(event.payload)
            offset = event.position.offset
            before = state[seen.id]
            if offset <= held[seen.id]:
                continue  # in its document already, so in every bucket it touched
            if before is not None and not seen.newer_than(before):
                continue  # an older change arriving late: the organisation stays as it is
            for key, delta in _contributions(before, seen):
                touched.setdefault(key.id, (key, []))[1].append((offset, delta))
            state[seen.id] = seen
            folded_to[seen.id] = offset
        for bucket_id, (key, contributions) in touched.items():
            await _fold_bucket(uow, partition, bucket_id, key, contributions)
        new: list[tuple[KnownOrganization, Position]] = []
        for i, offset in folded_to.items():
            known, before_write = state[i], found[i]
            assert known is not None
            if before_write is None:
                new.append((known, Position(partition, offset)))
            else:
                await uow.organizations.save_up_to(known, before_write, Position(partition, offset))
        await uow.organizations.add_many_up_to(new)
    return {i: known for i, known in state.items() if known is not None}


def _contributions(
    before: KnownOrganization | None, after: KnownOrganization
) -> list[tuple[BucketKey, Tally]]:
    """What one event changes in each bucket (only those it changes)."""
    deltas: dict[str, tuple[BucketKey, Tally]] = {}
    if before is not None:
        facts = before.facts()
        for key in bucket_ids(facts):
            deltas.setdefault(key.id, (key, Tally()))[1].add(facts.tally(), -1)
    facts = after.facts()
    for key in bucket_ids(facts):
        deltas.setdefault(key.id, (key, Tally()))[1].add(facts.tally())
    return [(key, delta) for key, delta in deltas.values() if not delta.empty]


async def _fold_bucket(
    uow: MetricsUnitOfWork,
    partition: str,
    bucket_id: str,
    key: BucketKey,
    contributions: list[tuple[int, Tally]],
) -> None:
    """Add the contributions of the events above the offset the bucket holds, and record the
    highest of them, in one write."""
    found = await uow.buckets.get(bucket_id)
    held = found.positions.get(partition, -1) if found is not None else -1
    missing = [(offset, delta) for offset, delta in contributions if offset > held]
    if not missing:
        return  # a redelivery: this bucket took all of them
    upto = Position(partition, max(offset for offset, _ in missing))
    if found is None:
        total = Tally()
        for _, delta in missing:
            total.add(delta)
        await uow.buckets.add_up_to((key, total), upto)
        return
    bucket_key, tally = found.entity
    for _, delta in missing:
        tally.add(delta)
    await uow.buckets.save_up_to((bucket_key, tally), found, upto)


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

"""Matching as the metrics service runs it: each change of an answer or of an organisation
re-matches only what it touches, and every match found or withdrawn is an event.

The pure engine (`domain.matching.MatchIndex`) is given just the records a change can affect:
the changed answers, the answers whose categories can fit theirs, and those organisations'
profiles; its difference before/after is what is written. New matches are stored with a
`MatchFound` event, withdrawn ones marked with a `MatchWithdrawn` event, rescored ones updated
in place; the answer (or nothing, for a profile change) is written last, so a redelivery after
a crash finds the same "before" and completes what is missing. Matching is serialised in this
process (`MetricsUnitOfWork.folds`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.metrics.domain.match_index import MatchChanges, MatchIndex
from services.metrics.domain.matching import (
    Answer,
    Match,
    OrganizationProfile,
)
from services.metrics.storage.matches import StoredMatch
from services.metrics.storage.unit_of_work import MetricsUnitOfWork
from shared.events.metrics import MatchFound, MatchSide, MatchWithdrawn
from shared.reference.territory import macrozone_of

LOCK = ("matching", "all")
WithdrawalCause = Literal["answer_replaced", "organization_left"]


async def _profiles(uow: MetricsUnitOfWork, answers: list[Answer]) -> list[OrganizationProfile]:
    ids = sorted({a.organization_id for a in answers})
    return [
        OrganizationProfile.from_snapshot(org.id, org.snapshot)
        for org in await uow.organizations.get_many(ids)
    ]


async def answer_stated(uow: MetricsUnitOfWork, answer: Answer, now: datetime) -> None:
    async with uow.folds.hold(*LOCK):
        found = await uow.answers.get(_key(answer))
        if found is not None and found.already_applied:
            return
        earlier = [found.entity] if found is not None else []
        related = await uow.answers.that_can_match([answer, *earlier])
        records = [a for a in related if a.key != answer.key] + earlier
        index = MatchIndex.from_records(records, await _profiles(uow, [*records, answer]))
        await _write(uow, index, index.apply_answer(answer), "answer_replaced", now)
        if found is None:
            await uow.answers.add(answer)
        else:
            await uow.answers.save(answer, found.version)


async def organization_changed(
    uow: MetricsUnitOfWork, profile: OrganizationProfile, now: datetime
) -> None:
    """An organisation left, came back, or changed territory or themes: its stored matches are
    reconciled with what its answers match now (the projection already holds the new profile).
    """
    async with uow.folds.hold(*LOCK):
        org = profile.organization_id
        own = await uow.answers.of_organization(org)
        if not own:
            return  # a match joins two answers: without one there is nothing to reconcile
        stored = {m.id: m for m in await uow.matches.active(organization_id=org)}
        wanted: dict[str, Match] = {}
        index = MatchIndex()
        if profile.active:
            related = await uow.answers.that_can_match(own)
            records = list({a.key: a for a in [*related, *own]}.values())
            index = MatchIndex.from_records(records, await _profiles(uow, records))
            wanted = {m.match_id: m for m in index.matches(organization_id=org)}
        changes = MatchChanges(
            added=[m for i, m in wanted.items() if i not in stored],
            withdrawn=[i for i in stored if i not in wanted],
            rescored=[
                m
                for i, m in wanted.items()
                if i in stored
                and (m.score, [r.text for r in m.reasons]) != (stored[i].score, stored[i].reasons)
            ],
        )
        await _write(uow, index, changes, "organization_left", now)


def _key(answer: Answer) -> str:
    return f"{answer.organization_id}:{answer.encuentro_id}"


async def _write(
    uow: MetricsUnitOfWork,
    index: MatchIndex,
    changes: MatchChanges,
    cause: WithdrawalCause,
    now: datetime,
) -> None:
    for match_id in changes.withdrawn:
        found = await uow.matches.get(match_id)
        if found is None or found.already_applied or found.entity.status != "active":
            continue
        withdrawn = found.entity.model_copy(update={"status": "withdrawn", "withdrawn_at": now})
        gone = MatchWithdrawn(match_id=match_id, occurred_at=now, cause=cause)
        await uow.matches.save(withdrawn, found.version, [gone])
    for match in changes.added:
        stored = _stored(index, match, now)
        event = _found(match, now)
        found = await uow.matches.get(match.match_id)
        if found is None:
            await uow.matches.add(stored, [event])
        elif not found.already_applied and found.entity.status != "active":
            await uow.matches.save(stored, found.version, [event])  # found again: announced
    for match in changes.rescored:
        found = await uow.matches.get(match.match_id)
        if found is not None and not found.already_applied:
            rescored = _stored(index, match, found.entity.found_at)
            await uow.matches.save(rescored, found.version)


def _stored(index: MatchIndex, match: Match, now: datetime) -> StoredMatch:
    profiles = [
        index.profile(match.need.organization_id),
        index.profile(match.offer.organization_id),
    ]
    regions = sorted({r for p in profiles if p is not None for r in p.territory})
    macrozones = sorted({macrozone_of(r) for r in regions if _known(r)})
    return StoredMatch.of(match, macrozones, regions, now)


def _known(region: str) -> bool:
    try:
        macrozone_of(region)
    except (KeyError, ValueError):
        return False
    return True


def _found(match: Match, now: datetime) -> MatchFound:
    return MatchFound(
        match_id=match.match_id,
        occurred_at=now,
        need=MatchSide(**match.need.to_dict()),
        offer=MatchSide(**match.offer.to_dict()),
        score=match.score,
        reasons=tuple(r.text for r in match.reasons),
    )

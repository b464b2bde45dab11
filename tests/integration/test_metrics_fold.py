"""The metrics service's batch fold of organisation events, redelivered, on the real database.

The service's own batch handler (`consumers.organizations_changed`) is called with one
partition's run of organisation events through a `MetricsUnitOfWork`, as the consumer calls
it, and then again as a redelivery would: the same run whole, cut at other offsets, or one
event at a time (the consumer's retry after a failed batch), after a crash simulated at each
point between the writes (`Crash` raised by a repository method: before the organisation
writes, among the bucket writes, among the organisation writes, before matching). Whatever the
crash, the buckets hold what folding the events one by one in memory gives, the organisations
and the matches what one clean delivery leaves, and each match is announced once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.metrics import matching
from services.metrics.consumers import organizations_changed
from services.metrics.domain.matching import Answer
from services.metrics.domain.organizations import KnownOrganization
from services.metrics.domain.registry_profile import Tally, bucket_ids
from services.metrics.settings import MetricsSettings
from services.metrics.storage.matches import MATCHES
from services.metrics.storage.projections import (
    ORGANIZATIONS,
    PROFILE_BUCKETS,
    BucketRepository,
    OrganizationRepository,
)
from services.metrics.storage.unit_of_work import MetricsUnitOfWork
from shared.events.metrics import MatchFound
from shared.events.registry import (
    Actor,
    OrganizationActivated,
    OrganizationEvent,
    OrganizationRegistered,
    OrganizationReinstated,
    OrganizationSnapshot,
    OrganizationSuspended,
)
from shared.kafka.handlers import Delivered
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document
from shared.storage.outbox import OUTBOX, OutboxWriter, filters_are_atomic
from shared.storage.repository import Position, state_of
from tests.harness.processes import MONGODB_URL

pytestmark = pytest.mark.integration

PARTITION = "articula.registry.organizations.v1#0"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
STAFF = Actor(kind="staff", id="test")
REGIONS = {"CL-RM": "centro_sur", "CL-VS": "norte_centro", "CL-AR": "sur_austral"}
SECTORS = ("sociedad_civil", "empresa", "academia")


class Crash(Exception):
    """The process dying at this point: nothing after it is written."""


def snapshot(n: int, status: str, head: str = "CL-RM", **overrides: Any) -> OrganizationSnapshot:
    data: dict[str, Any] = {
        "rut": f"{n}-0",
        "name": f"Org {n}",
        "sector": SECTORS[n % 3],
        "legal_form": "fundacion",
        "head_office_region": head,
        "macrozone": REGIONS[head],
        "regions": (head,),
        "scope": "regional",
        "roles": ("programas",),
        "themes": ("pobreza",) if n % 2 else ("pobreza", "educacion"),
        "links_with_others": True if n % 3 else None,
        "has_alliances": n % 2 == 0,
        "status": status,
        "verified": False,
        "listed": True,
        "call_id": "call-2026" if n % 3 == 0 else None,
        "registered_at": START + timedelta(days=n % 4),
    }
    data.update(overrides)
    return OrganizationSnapshot.model_validate(data)


def stream() -> list[OrganizationEvent]:
    """Twelve organisations registered; most activated; some suspended, reinstated in another
    region, or changed by an older event that arrives late (which changes nothing)."""
    events: list[tuple[datetime, OrganizationEvent]] = []

    def add(event: OrganizationEvent) -> None:
        events.append((event.occurred_at, event))

    for n in range(12):
        org, at = f"org-{n:02d}", START + timedelta(days=n % 4, hours=n)
        add(
            OrganizationRegistered(
                organization_id=org, occurred_at=at, organization=snapshot(n, "pending")
            )
        )
        if n % 4 != 3:
            later = at + timedelta(hours=30)
            add(
                OrganizationActivated(
                    organization_id=org,
                    occurred_at=later,
                    organization=snapshot(n, "active"),
                    changed_by=STAFF,
                    reason="ok",
                )
            )
        if n in (2, 6):
            add(
                OrganizationSuspended(
                    organization_id=org,
                    occurred_at=at + timedelta(hours=50),
                    organization=snapshot(n, "suspended"),
                    changed_by=STAFF,
                    reason="pausa",
                )
            )
        if n == 6:
            add(
                OrganizationReinstated(
                    organization_id=org,
                    occurred_at=at + timedelta(hours=70),
                    organization=snapshot(n, "active", head="CL-VS", themes=("cultura",)),
                    changed_by=STAFF,
                    reason="vuelve",
                )
            )
    ordered = [e for _, e in sorted(events, key=lambda pair: pair[0])]
    # An older change of org-05 arriving after its activation: ignored by the fold.
    stale = OrganizationSuspended(
        organization_id="org-05",
        occurred_at=START + timedelta(days=1, hours=6),
        organization=snapshot(5, "suspended", head="CL-AR"),
        changed_by=STAFF,
        reason="tarde",
    )
    ordered.append(stale)
    return ordered


def delivered(events: Sequence[OrganizationEvent], first_offset: int = 100) -> list[Delivered[Any]]:
    return [
        Delivered(
            payload=event,
            id=f"e-{offset}",
            source="/articula/registry",
            type=event.ce_type(),
            time=event.occurred_at,
            correlation_id=None,
            position=Position(PARTITION, offset),
        )
        for offset, event in enumerate(events, start=first_offset)
    ]


def expected_buckets(events: Sequence[OrganizationEvent]) -> dict[str, Document]:
    """The events folded one at a time in memory: what every delivery must end with."""
    state: dict[str, KnownOrganization] = {}
    tallies: dict[str, Tally] = defaultdict(Tally)
    for event in events:
        seen = KnownOrganization.from_event(event)
        before = state.get(seen.id)
        if before is not None and not seen.newer_than(before):
            continue
        if before is not None:
            for key in bucket_ids(before.facts()):
                tallies[key.id].add(before.facts().tally(), -1)
        for key in bucket_ids(seen.facts()):
            tallies[key.id].add(seen.facts().tally())
        state[seen.id] = seen
    return {i: canonical(t) for i, t in tallies.items() if not t.empty}


def canonical(tally: Tally) -> Document:
    """A tally's figures, without the zeros a sum may leave behind."""
    return {
        "total": tally.total,
        "counts": {d: dict(v) for d, v in tally.counts.items() if any(v.values())},
        "answered": {d: n for d, n in tally.answered.items() if n},
    }


@dataclass
class Store:
    client: AsyncMongoClient[Document]
    writer: OutboxWriter

    def uow(self, applying: Position | None = None) -> MetricsUnitOfWork:
        return MetricsUnitOfWork(self.writer, applying=applying)

    async def figures(self) -> tuple[dict[str, Document], dict[str, Document], dict[str, Any]]:
        """(non-empty buckets, organisations, matches with their announcements)."""
        db = self.writer.db
        buckets = {}
        async for doc in db[PROFILE_BUCKETS].find({}):
            tally = Tally.from_document(doc)
            if not tally.empty:
                buckets[doc["_id"]] = canonical(tally)
        organizations = {d["_id"]: state_of(d) async for d in db[ORGANIZATIONS].find({})}
        matches = {
            d["_id"]: (d["status"], sorted(e["type"] for e in _entries(d)))
            async for d in db[MATCHES].find({})
        }
        return buckets, organizations, matches


def _entries(doc: Document) -> list[Document]:
    outbox = doc.get(OUTBOX) or {}
    return list(outbox.values()) if isinstance(outbox, dict) else list(outbox)


async def _store(tag: str) -> Store:
    client: AsyncMongoClient[Document] = AsyncMongoClient(MONGODB_URL, tz_aware=True)
    settings = MetricsSettings(mongodb_url=MONGODB_URL, topic_prefix=f"f{tag}.")
    atomic = await filters_are_atomic(client)
    writer = OutboxWriter(
        client[f"f{tag}_metrics"], settings, DocumentLocks(), atomic_filters=atomic
    )
    store = Store(client, writer)
    # Two answers whose need and offer fit, stated before their organisations are known.
    uow = store.uow()
    for org, needs, offers in [("org-00", {"difusion"}, set()), ("org-01", set(), {"plataformas"})]:
        answer = Answer(org, "enc-1", frozenset(needs), frozenset(offers), START)
        await matching.answer_stated(uow, answer, START)
    return store


@pytest.fixture
async def stores() -> AsyncIterator[Callable[[], Any]]:
    made: list[Store] = []

    async def make() -> Store:
        made.append(await _store(uuid.uuid4().hex[:8]))
        return made[-1]

    yield make
    for store in made:
        await store.client.drop_database(store.writer.db.name)
        await store.client.close()


@contextmanager
def crashing(cls: type, method: str, after: int = 0) -> Iterator[None]:
    """`cls.method` works `after` times, then the process "dies" there."""
    original = getattr(cls, method)
    calls = 0

    async def dying(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > after:
            raise Crash(f"{cls.__name__}.{method} #{calls}")
        return await original(self, *args, **kwargs)

    setattr(cls, method, dying)
    try:
        yield
    finally:
        setattr(cls, method, original)


async def deliver(store: Store, run: Sequence[Delivered[Any]]) -> None:
    await organizations_changed(run, store.uow())


async def one_by_one(store: Store, run: Sequence[Delivered[Any]]) -> None:
    """As the consumer retries a failed batch: each event alone, applying its position."""
    for event in run:
        await organizations_changed([event], store.uow(event.position))


async def test_the_batch_fold_gives_what_the_events_give_one_by_one(stores: Any) -> None:
    events = stream()
    store = await stores()
    await deliver(store, delivered(events))
    buckets, organizations, matches = await store.figures()
    assert buckets == expected_buckets(events)
    assert len(organizations) == 12 and organizations["org-05"]["status"] == "active"
    assert organizations["org-06"]["head_office_region"] == "CL-VS"
    (found,) = matches.values()  # org-00's need served by org-01's offer, once both active
    assert found == ("active", [MatchFound.ce_type()])

    alone = await stores()
    await one_by_one(alone, delivered(events))
    assert (await alone.figures())[:2] == (buckets, organizations)


CRASHES: dict[str, tuple[type, str, int]] = {
    "before the organisation writes": (OrganizationRepository, "save_up_to", 0),
    "after two bucket writes": (BucketRepository, "save_up_to", 2),
    "after the first bucket was created": (BucketRepository, "add_up_to", 1),
    "after two organisation saves": (OrganizationRepository, "save_up_to", 2),
    "before the new organisations are inserted": (OrganizationRepository, "add_many_up_to", 0),
}


@pytest.mark.parametrize("crash", list(CRASHES), ids=list(CRASHES))
@pytest.mark.parametrize("redelivery", ["whole", "in two cuts", "one by one"])
async def test_a_run_redelivered_after_a_crash_counts_each_event_once(
    stores: Any, crash: str, redelivery: str
) -> None:
    events = stream()
    # A first delivery that lands whole (registrations), then the run that crashes.
    head, tail = delivered(events[:8]), delivered(events[8:], first_offset=108)
    once = await stores()
    await deliver(once, head)
    await deliver(once, tail)

    store = await stores()
    await deliver(store, head)
    cls, method, after = CRASHES[crash]
    with crashing(cls, method, after), pytest.raises(Crash):
        await deliver(store, tail)
    if redelivery == "whole":
        await deliver(store, tail)
    elif redelivery == "in two cuts":  # a later poll cut elsewhere, with the next records
        await deliver(store, tail[:5])
        await deliver(store, tail[5:])
    else:
        await one_by_one(store, tail)

    assert await store.figures() == await once.figures()
    assert (await store.figures())[0] == expected_buckets(events)


async def test_the_same_run_delivered_twice_gives_the_same_figures(stores: Any) -> None:
    events = delivered(stream())
    once, twice = await stores(), await stores()
    await deliver(once, events)
    await deliver(twice, events)
    await deliver(twice, events)
    await deliver(twice, events[3:9])  # and part of it again, as a shorter poll would bring it
    assert await twice.figures() == await once.figures()


async def test_a_crash_before_matching_is_completed_by_the_redelivery(
    stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = delivered(stream())
    once = await stores()
    await deliver(once, events)

    async def dying(*args: Any, **kwargs: Any) -> None:
        raise Crash("before matching")

    store = await stores()
    with monkeypatch.context() as patched, pytest.raises(Crash):
        patched.setattr(matching, "organization_changed", dying)
        await deliver(store, events)
    assert (await store.figures())[2] == {}  # folded, not matched yet
    await deliver(store, events)
    await deliver(store, events)
    assert await store.figures() == await once.figures()


async def test_a_bucket_whose_contributions_cancel_out_still_records_the_run(
    stores: Any,
) -> None:
    """org-00 enters the active bucket as org-06, with the same figures, leaves it: the run
    changes nothing there, but the bucket must say it took both, or a redelivery after org-00
    alone was saved would take org-06's departure a second time."""
    at = START + timedelta(days=1)

    def event(cls: type[OrganizationEvent], n: int, status: str, hours: int) -> OrganizationEvent:
        extra = {} if cls is OrganizationRegistered else {"changed_by": STAFF, "reason": "r"}
        return cls(
            organization_id=f"org-{n:02d}",
            occurred_at=at + timedelta(hours=hours),
            organization=snapshot(n, status),
            **extra,
        )

    head = [
        event(OrganizationRegistered, 0, "pending", 0),
        event(OrganizationRegistered, 6, "pending", 1),
        event(OrganizationActivated, 6, "active", 2),
    ]
    tail = [
        event(OrganizationActivated, 0, "active", 3),
        event(OrganizationSuspended, 6, "suspended", 4),
    ]
    events = delivered([*head, *tail])
    store = await stores()
    await deliver(store, events[:3])
    with crashing(OrganizationRepository, "save_up_to", 1), pytest.raises(Crash):
        await deliver(store, events[3:])
    await deliver(store, events[3:])
    assert (await store.figures())[0] == expected_buckets([*head, *tail])

"""The events benchmark's calendar part: `GET /v1/calendar.ics` over 1,000 encuentros, beside
its parts measured alone (the query, `render_calendar`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from bench.common import percentile
from bench.events_support import (
    SEED_ACTOR,
    Bench,
    Seeder,
    bound_cell,
    bounds,
    database_name,
    in_service,
    ms,
    timed,
)
from services.events.api.encuentros import PUBLIC_STATUSES, calendar_entry
from services.events.domain.encuentro import Encuentro
from services.events.domain.lifecycle import EncuentroStatus
from services.events.settings import EventsSettings
from services.events.storage.encuentros import (
    SUMMARY_PROJECTION,
    EncuentroQuery,
    _filter,
)
from services.events.storage.unit_of_work import EventsUnitOfWork
from shared.calendar import render_calendar
from shared.storage.locks import DocumentLocks
from shared.storage.outbox import OutboxWriter
from shared.storage.repository import state_of

# --- (4) the calendar ----------------------------------------------------------------------------


def calendar_encuentros(seeder: Seeder, count: int) -> list[Encuentro]:
    """`count` published encuentros over the coming years, one in 25 cancelled (shown as
    such), a third online only: nobody registered yet."""
    first = datetime.now(UTC).replace(hour=13, minute=0, second=0, microsecond=0)
    made = []
    for n in range(count):
        encuentro = seeder.build(
            starts=first + timedelta(days=n * 3 // 4, hours=n % 5),
            title=f"Encuentro {n + 1} del banco de pruebas",
            capacity=120,
        )
        if n % 3 == 0:
            encuentro.mode = "virtual"
            encuentro.venue = None
        if n % 25 == 0:
            encuentro.change_status(
                EncuentroStatus.CANCELLED,
                reason="Cancelado por el banco de pruebas",
                actor=SEED_ACTOR,
                now=datetime.now(UTC),
            )
        made.append(encuentro)
    return made


async def repository_query(repeats: int) -> tuple[list[float], list[Encuentro]]:
    """The calendar route's query through the events service's own repository, here."""
    settings = EventsSettings()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
    uow = EventsUnitOfWork(OutboxWriter(client[database_name()], settings, DocumentLocks()))
    seconds: list[float] = []
    rows: list[tuple[Encuentro, Any]] = []
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            rows = await uow.encuentros.summaries(EncuentroQuery(statuses=PUBLIC_STATUSES))
            seconds.append(time.perf_counter() - started)
    finally:
        await client.close()
    return seconds, [encuentro for encuentro, _ in rows]


def public_find(collection: Any) -> list[dict[str, Any]]:
    """The calendar's query as the repository sends it, with pymongo: documents only."""
    query = _filter(EncuentroQuery(statuses=PUBLIC_STATUSES))
    return list(collection.find(query, SUMMARY_PROJECTION).sort([("starts_at", 1), ("_id", 1)]))


@dataclass
class Calendar:
    lines: list[str]
    summary: list[str]
    seeded: list[str]
    best: float  # the fastest request
    find_best: float
    listed: int


def calendar_part(bench: Bench, count: int, requests: int) -> Calendar:
    """Measured first, while the encuentros of the other parts (with their people) are not
    there yet; `calendar_later` measures it again with them, then deletes the seeded ones."""
    seeded = calendar_encuentros(bench.seeder, count)
    started = time.perf_counter()
    bench.seeder.insert(seeded)
    seeding = time.perf_counter() - started
    bench.settle()
    bench.http.get("/v1/calendar.ics").raise_for_status()  # warm-up
    latencies: list[float] = []
    body = b""
    watch = bench.watch(ferretdb=3)
    with watch.running():
        for _ in range(requests):
            started = time.perf_counter()
            response = bench.http.get("/v1/calendar.ics")
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            body = response.content
    repeats = 2  # each part here; the best of them is the part's cost
    query, encuentros = asyncio.run(repository_query(repeats))
    raw_find, documents = timed(lambda: public_find(bench.seeder.collection), repeats)
    repository = bench.seeder.uow.encuentros
    to_entities, _ = timed(
        lambda: [repository.from_document({**state_of(d), "_id": d["_id"]}) for d in documents],
        repeats,
    )
    entries = [calendar_entry(e, bench.seeder.public_url) for e in encuentros]
    render, rendered = timed(lambda: render_calendar(entries, name="Encuentros Articula"), repeats)
    same = (
        "the same bytes as the service's"
        if rendered == body
        else f"{len(rendered):,} bytes against the service's {len(body):,} (another public URL?)"
    )
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    kib = len(body) / 1024
    rest = min(latencies) - min(query) - min(render)
    rendering = in_service(watch, "render_calendar", requests)
    lines = [
        f"### Calendar: `GET /v1/calendar.ics` with {count:,} encuentros",
        "",
        f"{count:,} published encuentros (`BENCH_CALENDAR_ENCUENTROS`; one in 25 cancelled, a "
        "third online only, nobody registered yet) seeded straight into the database as the "
        f"repository writes them ({seeding:.1f} s), before the other parts (the feed lists "
        f"every public encuentro: {len(encuentros):,} here). {requests} requests "
        f"(`BENCH_CALENDAR_REQUESTS`) one after the other, after a warm-up; {len(body):,} bytes "
        "each. Beside it, in this process, the route's parts on the same data (the baseline: "
        "what the request costs without HTTP).",
        "",
        "| what | best ms | p50 ms | max ms | n |",
        "|---|---|---|---|---|",
        f"| `GET /v1/calendar.ics` | {ms(min(latencies))} | {ms(p50)} | {ms(max(latencies))} | "
        f"{len(latencies)} |",
        *(
            f"| {name} | {ms(min(values))} | {ms(percentile(values, 50))} | {ms(max(values))} | "
            f"{len(values)} |"
            for name, values in (
                ("the repository's query (`EncuentroRepository.summaries`), this process", query),
                ("of which FerretDB: the same `find` with pymongo, documents only", raw_find),
                ("of which pydantic: the documents to aggregates", to_entities),
                (f"`render_calendar` of the same {len(entries):,} entries, this process", render),
            )
        ),
        "",
        f"The feed rendered here: {same}. The request without its query and its rendering "
        f"(HTTP, the entries, sending {kib:.0f} KiB), best against best: "
        f"{ms(max(0.0, rest))} ms. In the service itself (py-spy during the requests) "
        f"`render_calendar` took {ms(rendering)} ms of CPU per request, of "
        f"{ms(watch.cpu.get('events', 0.0) / requests)} ms of the service's and "
        f"{ms(watch.cpu.get('ferretdb', 0.0) / requests)} ms of FerretDB's. The query is a "
        "filtered `find`: FerretDB reads and decodes every document of the collection for it "
        "(the projection only trims the answer), so encuentros with registrations weigh on "
        "it; see the end of this section.",
        "",
        "**What bounds it** (CPU from psutil over the requests):",
        "",
        *bounds(
            watch,
            "events",
            requests,
            "request",
            ["EncuentroRepository.summaries", "calendar_entry", "render_calendar", "to_ical"],
        ),
        "",
    ]
    summary = [
        f"| 7. events: `GET /v1/calendar.ics`, {len(encuentros):,} encuentros | p50 {ms(p50)} / "
        f"p99 {ms(p99)} ms (n={len(latencies)}), {kib:.0f} KiB | its parts here, best of "
        f"{repeats}: query {ms(min(query))} ms (FerretDB's `find` {ms(min(raw_find))}, "
        f"pydantic {ms(min(to_entities))}), `render_calendar` {ms(min(render))} ms | the "
        f"fastest request {ms(min(latencies))} ms = {min(latencies) / min(render):.1f}× the "
        f"rendering alone | none set | FerretDB's scan and icalendar: `render_calendar` "
        f"{ms(rendering)} ms of the service's CPU per request. "
        f"{bound_cell(watch, requests, 'request')}.{watch.disturbance()} |"
    ]
    return Calendar(
        lines,
        summary,
        [e.id for e in seeded],
        min(latencies),
        min(raw_find),
        len(encuentros),
    )


def calendar_later(bench: Bench, calendar: Calendar, people: int) -> None:
    """The calendar again, now that the collection also holds the other parts' encuentros with
    their `people`; then the seeded encuentros go (each published one would get an invitation
    for every organisation activated later, which would weigh on a next run)."""
    raw_find, documents = timed(lambda: public_find(bench.seeder.collection), 1)
    latencies, _ = timed(lambda: bench.http.get("/v1/calendar.ics").raise_for_status(), 1)
    for start in range(0, len(calendar.seeded), 500):
        bench.seeder.collection.delete_many({"_id": {"$in": calendar.seeded[start : start + 500]}})
    calendar.lines[-1:-1] = [
        "",
        f"At the end of the run, the collection also holding the encuentros of the other parts "
        f"({len(documents) - calendar.listed} more, {people:,} registrations in them): the "
        f"FerretDB `find` {ms(raw_find[0])} ms (was {ms(calendar.find_best)} at best), `GET "
        f"/v1/calendar.ics` {ms(latencies[0])} ms (was {ms(calendar.best)} at best). The "
        "seeded encuentros are deleted afterwards (each published one gets an invitation for "
        "every organisation activated later, which "
        "would weigh on a next run against the same stack).",
    ]

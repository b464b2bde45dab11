"""Events service benchmark: registrations into one encuentro, check-in, rounds, the calendar.

Set-up: organisations registered at the registry and activated by staff (the real flow, as
`tests/integration/test_events_story.py` does it), until the events service has learnt them
from Kafka (its projection shows them active and their keys are accepted).

(1) Registrations: N ``POST /v1/encuentros/{id}/registrations`` into a fresh published
encuentro, each with the key of one of the organisations, at a fixed concurrency, against the
bare FastAPI app of `bench.registry` (one ``insert_one`` per request) writing the same bodies
into the events service's database, served the same way and driven by the same client
(`bench.loadgen`); in chunks of 100, so that the rate by number of people already in the
encuentro shows. Then the last L registrations of an encuentro of P people, the others seeded
straight into the database as its repository writes them (built with the domain: create,
publish, register), since registering them all through HTTP would take minutes. (2) Check-in:
that encuentro moved to ``in_progress``, its registrations listed as staff (with the personal
codes), C of them checked in by code at the same concurrency. (3) Rounds: an encuentro with M
checked-in participants, seeded the same way, then ``POST /rounds`` a few times; the pure
`form_groups` for the same seats and the domain's `form_round` (groups, the round, its event)
timed in this process beside it. (4) Calendar, measured first (before the other parts add
encuentros full of people): E published encuentros seeded the same way, then ``GET
/v1/calendar.ics``; its parts timed in this process beside it (the repository's query, the same
``find`` with pymongo, the documents to aggregates, `render_calendar` of the same entries); at
the end once more, with the other parts' encuentros in the collection.

Each part also takes the document's own cost: a copy of the encuentro's document (same
database, another collection) read and updated from this process, and its (de)serialisation.

Settings (environment): ``BENCH_ENCUENTRO_ORGS`` (100), ``BENCH_ENCUENTRO_REGISTRATIONS`` (100
per round, into a fresh encuentro), ``BENCH_ENCUENTRO_ROUNDS`` (2, bare app then events service
in each), ``BENCH_LATE_REGISTRATIONS`` (20, the last of ``BENCH_CHECKIN_PARTICIPANTS``, 500:
the check-in's encuentro is seeded with the others), ``BENCH_CHECKINS`` (32 of them checked in;
500 checks all in, several minutes more), ``BENCH_CONCURRENCY`` (16),
``BENCH_GROUPING_PARTICIPANTS`` (1000), ``BENCH_GROUPING_ROUNDS`` (3),
``BENCH_CALENDAR_ENCUENTROS`` (1000), ``BENCH_CALENDAR_REQUESTS`` (5). Every request to an
encuentro costs in proportion to its people (see the section), so the defaults keep this part
to about three minutes on the 2-core machine. Ports and URLs come from ``deploy/bench.sh``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pymongo import MongoClient

from bench import loadgen
from bench.common import Section, percentile
from bench.events_calendar import (
    calendar_later,
    calendar_part,
)
from bench.events_support import (
    CHUNK,
    EVENTS_FOCUS,
    MACROZONE,
    RAW_COUNT,
    Bench,
    Chunked,
    Seeder,
    _env_int,
    bound_cell,
    bounds,
    database_name,
    document_costs,
    expected_invitations,
    finds,
    in_service,
    move,
    ms,
    organizations,
    published_encuentro,
    registration_requests,
    send_chunked,
    share,
    staff_headers,
    timed,
)
from bench.profile import Watch
from bench.registry import ceiling, raw_app_process
from services.events.application import new_id
from services.events.domain import activity
from services.events.domain.forms import RoundInput
from services.events.domain.grouping import Seat, form_groups
from services.events.storage.organizations import KNOWN_ORGANIZATIONS

# --- (1) registrations ---------------------------------------------------------------------------


@dataclass
class RegistrationRound:
    raw: Chunked
    ours: Chunked
    raw_watch: Watch
    ours_watch: Watch

    @property
    def ratio(self) -> float:
        return self.ours.rate / self.raw.rate if self.raw.rate else float("nan")


def chunk_rates(load: Chunked, first: int) -> str:
    if len(load.chunks) < 2:
        return ""
    parts = [
        f"{first + n * CHUNK}→{first + n * CHUNK + len(c.latencies)}: "
        f"{len(c.latencies) / c.seconds:.1f}/s"
        for n, c in enumerate(load.chunks)
    ]
    return " (" + ", ".join(parts) + ")"


def registrations_part(
    bench: Bench, count: int, rounds: int, participants: int, late: int
) -> tuple[list[str], list[str], Chunked, str]:
    """The section's lines, its summary row, the last bare-app load (its latencies are the
    check-in's reference) and the encuentro of `participants` people for the check-in."""
    concurrency = bench.concurrency
    raw_count = max(count, RAW_COUNT)
    results: list[RegistrationRound] = []
    with raw_app_process(database_name()) as (raw_base, raw_pid):
        raw_url = f"{raw_base}/raw"

        def raw_load(n: int) -> Chunked:
            """One load, not chunks: the bare app's cost does not grow with its collection."""
            requests = registration_requests(raw_url, bench.orgs, n)
            return Chunked([asyncio.run(loadgen.post_all(raw_url, requests, concurrency))])

        raw_load(100)  # warm-up of both servers
        warm = published_encuentro(bench.http, bench.mongo, 100, bench.invited)
        bench.made.append(warm)
        send_chunked(
            bench.registrations_url(warm),
            registration_requests(bench.registrations_url(warm), bench.orgs, 20),
            concurrency,
        )
        for round_number in range(1, rounds + 1):
            profiled = round_number == rounds  # py-spy and pprof in the last round only
            encuentro_id = published_encuentro(bench.http, bench.mongo, count, bench.invited)
            bench.made.append(encuentro_id)
            bench.settle()
            raw_watch = bench.watch(["raw app"] if profiled else [], extra={"raw app": raw_pid})
            with raw_watch.running():
                raw = raw_load(raw_count)
            url = bench.registrations_url(encuentro_id)
            requests = registration_requests(url, bench.orgs, count)
            ours_watch = bench.watch(["events"] if profiled else [], 5 if profiled else 0)
            with ours_watch.running():
                ours = send_chunked(url, requests, concurrency)
            results.append(RegistrationRound(raw, ours, raw_watch, ours_watch))
        bench.settle()  # each document's cost without the entries the relay tidies away
        fresh_costs = document_costs(bench.seeder, encuentro_id)

        # The same into an encuentro that already holds `participants - late` people.
        seeded = bench.seeder.build(registered=participants - late, capacity=participants)
        bench.seeder.insert([seeded])
        bench.made.append(seeded.id)
        bench.settle()
        url = bench.registrations_url(seeded.id)
        requests = registration_requests(url, bench.orgs, late)
        late_watch = bench.watch(ferretdb=8)
        with late_watch.running():
            late_load = send_chunked(url, requests, concurrency)
        bench.settle()
        late_costs = document_costs(bench.seeder, seeded.id)

    ratios = sorted(r.ratio for r in results)
    median_ratio = ratios[len(ratios) // 2]
    last = results[-1]
    late_ratio = late_load.rate / last.raw.rate

    def row(name: str, load: Chunked, ratio: str, first: int = 0) -> str:
        return (
            f"| {name} | {load.rate:.1f}{chunk_rates(load, first)} | "
            f"{ms(percentile(load.latencies, 50))} | {ms(percentile(load.latencies, 99))} | "
            f"{ratio} | {load.refused(201)} |"
        )

    table = []
    for n, r in enumerate(results, 1):
        table += [
            row(f"{n}: bare FastAPI, `insert_one` of the body", r.raw, "1.00"),
            row(f"{n}: events, a fresh encuentro (0 → {count})", r.ours, f"**{share(r.ratio)}**"),
        ]
    table.append(
        row(
            f"events, {participants - late} → {participants} (against round {rounds}'s bare app)",
            late_load,
            f"**{share(late_ratio)}**",
            participants - late,
        )
    )
    ceilings = (
        f"CPU ceilings (1 s / CPU per registration): events process "
        f"{ceiling(last.ours_watch, ['events'], count)}, FerretDB "
        f"{ceiling(last.ours_watch, ['ferretdb'], count)} at 0 → {count}; events process "
        f"{ceiling(late_watch, ['events'], late)}, FerretDB "
        f"{ceiling(late_watch, ['ferretdb'], late)} at {participants - late} → {participants}"
    )
    lines = [
        "### Registrations into one encuentro vs a bare FastAPI app with one insert",
        "",
        f"{rounds} rounds (`BENCH_ENCUENTRO_ROUNDS`) of {count} registrations "
        f"(`BENCH_ENCUENTRO_REGISTRATIONS`) into a fresh published encuentro, and "
        f"{raw_count} such bodies to the bare app of `bench/registry.py` (one "
        "`insert_one` into the events service's database; enough to last a second), bare app "
        "first; then "
        f"{late} more (`BENCH_LATE_REGISTRATIONS`) into an encuentro already holding "
        f"{participants - late} people (seeded, see (2)). {concurrency} concurrent clients "
        "(`bench/loadgen.py`), each request with the key of one of the organisations; after a "
        "warm-up of 100 to the bare app and 20 into another encuentro. Both servers are single "
        f"uvicorn processes writing to the same FerretDB. Median ratio **{share(median_ratio)}** "
        f"into a fresh encuentro, **{share(late_ratio)}** at {participants - late} → "
        f"{participants}.",
        "",
        "| round: path | registrations/s | p50 ms | p99 ms | throughput ratio | not 201 |",
        "|---|---|---|---|---|---|",
        *table,
        "",
        "The events service, per registration, under the encuentro's lock (one decision at a "
        "time per encuentro in the process, `EventsUnitOfWork.decisions`): the organisation "
        "read by `_id` (active?), the whole encuentro read by `_id` and validated into the "
        "aggregate, the seat decided, the whole aggregate dumped, and written back in one "
        "compare-and-set with its events (on FerretDB: a second read of the whole document "
        "for the version, the outbox marker upsert, a `$set` of every field). Then the relay: "
        "its hint carries the new entries only when the write created the marker, and under "
        "concurrency the previous marker is always still there, so it reads the whole document "
        "once more to find them; it publishes, deletes the marker and, when idle, removes the "
        "published entries (FerretDB rewrites the whole document for that too). "
        f"{finds(last.ours_watch, count)} at 0 → {count}, {finds(late_watch, late)} at "
        f"{participants - late} → {participants}; the document grows with each person.",
        "",
        "The document's own cost, on a copy of it (same FerretDB database, another "
        "collection), timed from this process:",
        "",
        f"- after round {rounds}: {fresh_costs.cells()};",
        f"- at {participants}: {late_costs.cells()}.",
        "",
        f"{ceilings}.",
        "",
        f"**What bounds it** (round {rounds}, then {participants - late} → {participants}; CPU "
        "from psutil during each load; `load generator` is this benchmark's HTTP client):",
        "",
        "Bare app:",
        "",
        *last.raw_watch.cpu_lines(raw_count, "request"),
        "",
        last.raw_watch.commands_line(raw_count, "request"),
        "",
        *last.raw_watch.profile_lines("raw app", raw_count, ["raw"], "request"),
        "",
        f"Events service, a fresh encuentro (0 → {count}):",
        "",
        *bounds(last.ours_watch, "events", count, "registration", EVENTS_FOCUS),
        "",
        f"Events service, {participants - late} → {participants}:",
        "",
        *bounds(late_watch, "events", late, "registration", EVENTS_FOCUS),
        "",
    ]
    summary = [
        f"| 4. events: registrations into one encuentro, {concurrency} clients | "
        f"{last.ours.rate:.1f}/s into a fresh one (0 → {count}), p50 "
        f"{ms(percentile(last.ours.latencies, 50))} / p99 "
        f"{ms(percentile(last.ours.latencies, 99))} ms; {late_load.rate:.1f}/s at "
        f"{participants - late} → {participants}, p99 {ms(percentile(late_load.latencies, 99))} "
        f"ms | bare FastAPI + `insert_one`: {last.raw.rate:.0f}/s, p50 "
        f"{ms(percentile(last.raw.latencies, 50))} / p99 "
        f"{ms(percentile(last.raw.latencies, 99))} ms | **{share(median_ratio)}** (median of "
        f"{rounds}); **{share(late_ratio)}** at {participants} | none set | one decision at a time "
        f"per encuentro, reading and writing the whole document: {finds(late_watch, late)} at "
        f"{participants} ({late_costs.kib:.0f} KiB: a read {ms(min(late_costs.read))} ms, an "
        f"update {ms(min(late_costs.write))} ms). Fresh: "
        f"{bound_cell(last.ours_watch, count, 'registration')}. At {participants}: "
        f"{bound_cell(late_watch, late, 'registration')}."
        f"{last.ours_watch.disturbance() or late_watch.disturbance()} |"
    ]
    return lines, summary, last.raw, seeded.id


# --- (2) check-in --------------------------------------------------------------------------------


def listed_registrations(bench: Bench, encuentro_id: str) -> tuple[list[dict[str, Any]], float]:
    """Every registration as staff see it (with its code), and the seconds the pages took."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    started = time.perf_counter()
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = bench.http.get(
            f"/v1/encuentros/{encuentro_id}/registrations", params=params, headers=staff_headers()
        )
        page.raise_for_status()
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items, time.perf_counter() - started


def checkin_part(
    bench: Bench, encuentro_id: str, checkins: int, raw: Chunked
) -> tuple[list[str], list[str]]:
    started = time.perf_counter()
    move(bench.http, encuentro_id, "in_progress")
    moved = time.perf_counter() - started
    bench.settle()
    items, listing = listed_registrations(bench, encuentro_id)
    codes = [r["code"] for r in items if r["status"] == "registered"]
    sample = random.sample(codes, min(checkins, len(codes)))
    url = f"{bench.events}/v1/encuentros/{encuentro_id}/checkins"
    requests = [loadgen.encode_post(url, {"code": code}, staff_headers()) for code in sample]
    watch = bench.watch(ferretdb=8)
    with watch.running():
        load = asyncio.run(loadgen.post_all(url, requests, bench.concurrency))
    bench.settle()
    costs = document_costs(bench.seeder, encuentro_id)
    count = len(sample)
    refused = ", ".join(f"{n}× {s}" for s, n in sorted(load.statuses.items()) if s != 200)
    p50, p99 = percentile(load.latencies, 50), percentile(load.latencies, 99)
    lines = [
        f"### Check-in with {len(codes)} participants",
        "",
        f"The encuentro of the last row above ({len(codes)} registered) moved to `in_progress` "
        f"(`POST /status`: {ms(moved)} ms), its registrations listed as staff (`GET "
        f"/registrations`, pages of 500, with the personal codes: {ms(listing)} ms), then "
        f"{count} of them (`BENCH_CHECKINS`, a random sample) checked in by code, "
        f"{bench.concurrency} concurrent clients.",
        "",
        "| path | check-ins/s | p50 ms | p99 ms | max ms | not 200 |",
        "|---|---|---|---|---|---|",
        f"| events `POST /checkins` by code | {count / load.seconds:.1f} | {ms(p50)} | {ms(p99)} "
        f"| {ms(max(load.latencies))} | {refused or 'none'} |",
        f"| bare FastAPI, `insert_one` (registrations' last round, for reference) | "
        f"{raw.rate:.0f} | {ms(percentile(raw.latencies, 50))} | "
        f"{ms(percentile(raw.latencies, 99))} | {ms(max(raw.latencies))} | |",
        "",
        "A check-in is the same decision as a registration (load the whole encuentro, find the "
        "code among its registrations, mark it, write the whole document back with its event), "
        f"one at a time per encuentro; with {bench.concurrency} clients a request waits for the "
        f"ones ahead of it: {bench.concurrency} decisions of {ms(load.seconds / count)} ms (1 / "
        f"rate) are {ms(bench.concurrency * load.seconds / count)} ms. The document: "
        f"{costs.cells()}.",
        "",
        "**What bounds it** (CPU from psutil during the load):",
        "",
        *bounds(watch, "events", count, "check-in", [*EVENTS_FOCUS, "check_in.<locals>.present"]),
        "",
    ]
    summary = [
        f"| 5. events: check-in by code, {len(codes)} participants, {bench.concurrency} "
        f"clients | p50 {ms(p50)} / p99 {ms(p99)} ms, {count / load.seconds:.1f}/s | bare "
        f"FastAPI + `insert_one`: p50 {ms(percentile(raw.latencies, 50))} / p99 "
        f"{ms(percentile(raw.latencies, 99))} ms | | none set | as registrations: one decision "
        f"at a time on the whole {costs.kib:.0f} KiB document, {finds(watch, count)}. "
        f"{bound_cell(watch, count, 'check-in')}.{watch.disturbance()} |"
    ]
    return lines, summary


# --- (3) rounds ----------------------------------------------------------------------------------


def rounds_part(bench: Bench, participants: int, repeats: int) -> tuple[list[str], list[str]]:
    encuentro = bench.seeder.build(
        registered=participants, checked_in=participants, capacity=participants
    )
    bench.seeder.insert([encuentro])
    bench.made.append(encuentro.id)
    costs = document_costs(bench.seeder, encuentro.id)
    url = f"/v1/encuentros/{encuentro.id}/rounds"
    bodies = [
        {
            "name": f"Ronda {n}",
            "question": "¿Cómo colaboramos entre organizaciones?",
            "group_size": 4,
        }
        for n in range(1, repeats + 1)
    ]
    posted: list[float] = []
    groups = 0
    watch = bench.watch(ferretdb=5)
    with watch.running():
        for body in bodies:
            started = time.perf_counter()
            response = bench.http.post(url, json=body, headers=staff_headers())
            posted.append(time.perf_counter() - started)
            response.raise_for_status()
            formed = response.json()["groups"]
            groups = len(formed)
            assert sum(len(g["members"]) for g in formed) == participants
    bench.settle()  # the relay's tidy-up first: each round's event sits in the outbox until then
    after = document_costs(bench.seeder, encuentro.id)
    # What `application.form_round` reads besides the encuentro: each organisation present,
    # one read by `_id` after the other (`get_many`).
    present = sorted({r.organization_id for r in encuentro.registrations})
    known = bench.seeder.client[database_name()][KNOWN_ORGANIZATIONS]
    org_reads, _ = timed(lambda: [known.find_one({"_id": o}) for o in present], 2)

    # The same in this process: what `application.form_round` hands the domain.
    sectors = {o.id: o.sector for o in bench.orgs}
    regions = {o.id: o.region for o in bench.orgs}
    seats = [
        Seat(
            r.id, r.organization_id, sectors.get(r.organization_id), regions.get(r.organization_id)
        )
        for r in encuentro.registrations
    ]
    numbers = iter(range(1, 10 * repeats + 1))
    pure, _ = timed(lambda: form_groups(seats, 4, round_number=next(numbers)), 4)
    data = RoundInput.model_validate(bodies[0])
    domain: list[float] = []
    for _ in range(2):
        copy = encuentro.model_copy(deep=True)
        started = time.perf_counter()
        activity.form_round(
            copy, data, round_id=new_id(), sectors=sectors, regions=regions, now=datetime.now(UTC)
        )
        domain.append(time.perf_counter() - started)
    p50 = percentile(posted, 50)
    lines = [
        f"### Forming groups: {participants} checked-in participants",
        "",
        f"An encuentro with {participants} people (`BENCH_GROUPING_PARTICIPANTS`) from "
        f"{len(bench.orgs)} organisations, all checked in, seeded straight into the database as "
        "its repository writes it (built with the domain: create, publish, register, start, "
        f"check in); then {repeats} rounds (`BENCH_GROUPING_ROUNDS`) of `group_size` 4, one "
        f"after the other ({groups} groups each). Beside it, in this process, the same seats: "
        "the pure `form_groups`, and the domain's `activity.form_round` (groups, the round, "
        "its event) on a copy of the aggregate.",
        "",
        "| what | best ms | p50 ms | max ms | n |",
        "|---|---|---|---|---|",
        f"| `POST /v1/encuentros/{{id}}/rounds` | {ms(min(posted))} | {ms(p50)} | "
        f"{ms(max(posted))} | {len(posted)} |",
        f"| `activity.form_round`, this process | {ms(min(domain))} | "
        f"{ms(percentile(domain, 50))} | {ms(max(domain))} | {len(domain)} |",
        f"| `form_groups` (pure), this process | {ms(min(pure))} | {ms(percentile(pure, 50))} | "
        f"{ms(max(pure))} | {len(pure)} |",
        "",
        f"In the service itself (py-spy during the rounds): `form_groups` "
        f"{ms(in_service(watch, 'form_groups', repeats))} ms of CPU per round, `form_round` "
        f"(the domain's, with the groups) "
        f"{ms(in_service(watch, 'form_round', repeats, 'domain/activity.py'))}"
        f" ms, of {ms(watch.cpu.get('events', 0.0) / repeats)} ms of the service's CPU and "
        f"{ms(watch.cpu.get('ferretdb', 0.0) / repeats)} ms of FerretDB's per round.",
        "",
        f"The document: before the rounds {costs.cells()}; after them {after.cells()}. Each "
        "`POST /rounds` reads the encuentro, then each organisation present by `_id`, one "
        f"after the other (`get_many`: {len(present)} reads, "
        f"{ms(percentile(org_reads, 50))} ms from this process), then decides as a "
        "registration does (the encuentro read again, the compare-and-set's read, the whole "
        "document written with its new round); the rounds make it grow.",
        "",
        "**What bounds it** (CPU from psutil over the rounds):",
        "",
        *bounds(
            watch,
            "events",
            repeats,
            "round",
            [*EVENTS_FOCUS, "form_round", "form_groups", "round_view"],
        ),
        "",
    ]
    summary = [
        f"| 6. events: forming groups (`POST /rounds`), {participants} checked in | p50 "
        f"{ms(p50)} ms (n={len(posted)}) | pure `form_groups`: {ms(min(pure))} ms (best of "
        f"{len(pure)}); `activity.form_round` {ms(min(domain))} ms | grouping "
        f"{min(pure) / min(posted):.0%} of the fastest request | none set | the document, not the "
        f"grouping: {costs.kib:.0f} → {after.kib:.0f} KiB read and written whole. "
        f"{bound_cell(watch, repeats, 'round')}.{watch.disturbance()} |"
    ]
    return lines, summary


# --- the whole benchmark -------------------------------------------------------------------------


def main() -> Section:
    registry = f"http://127.0.0.1:{os.environ['REGISTRY_PORT']}"
    events = f"http://127.0.0.1:{os.environ['EVENTS_PORT']}"
    concurrency = _env_int("BENCH_CONCURRENCY", 16)
    org_count = _env_int("BENCH_ENCUENTRO_ORGS", 100)
    count = _env_int("BENCH_ENCUENTRO_REGISTRATIONS", 100)
    rounds = _env_int("BENCH_ENCUENTRO_ROUNDS", 2)
    late = _env_int("BENCH_LATE_REGISTRATIONS", 20)
    participants = _env_int("BENCH_CHECKIN_PARTICIPANTS", 500)
    checkins = _env_int("BENCH_CHECKINS", 32)
    grouped = _env_int("BENCH_GROUPING_PARTICIPANTS", 1000)
    group_rounds = _env_int("BENCH_GROUPING_ROUNDS", 3)
    calendar_count = _env_int("BENCH_CALENDAR_ENCUENTROS", 1000)
    calendar_requests = _env_int("BENCH_CALENDAR_REQUESTS", 5)

    took: list[str] = []
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        took.append(f"{name} {time.perf_counter() - clock:.0f} s")
        clock = time.perf_counter()

    orgs, registering, learning, note = organizations(registry, events, org_count)
    lap("set-up")
    mongo: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
    seeder = Seeder(orgs)
    with mongo, httpx.Client(base_url=events, timeout=300) as http:
        bench = Bench(events, orgs, concurrency, mongo, http, seeder, expected_invitations(mongo))
        calendar = calendar_part(bench, calendar_count, calendar_requests)
        lap("calendar")
        registration_lines, registration_summary, raw, checkin_encuentro = registrations_part(
            bench, count, rounds, participants, late
        )
        lap("registrations")
        checkin = checkin_part(bench, checkin_encuentro, checkins, raw)
        lap("check-in")
        grouping = rounds_part(bench, grouped, group_rounds)
        lap("rounds")
        calendar_later(bench, calendar, 20 + rounds * count + participants + grouped)
        lap("calendar again")
    seeder.close()
    lines = [
        "## 4. Events service: registrations, check-in, rounds, calendar (issue 8)",
        "",
        f"Set-up: {org_count} organisations (`BENCH_ENCUENTRO_ORGS`; head offices in the "
        f"five regions of {MACROZONE}, five sectors) registered at the registry and activated "
        f"by staff in {registering:.1f} s; the events service had applied their events (its "
        f"projection shows them active, their keys are accepted) {learning:.1f} s later.{note} "
        f"Every encuentro is in {MACROZONE}; publishing one invites the {bench.invited} "
        "organisations working there (the benchmark waits for those invitations, and before "
        f"each load for the events service's relay to be idle). The parts took {', '.join(took)}.",
        "",
        *registration_lines,
        *checkin[0],
        *grouping[0],
        *calendar.lines,
    ]
    summary = [*registration_summary, *checkin[1], *grouping[1], *calendar.summary]
    return Section(lines, summary)


if __name__ == "__main__":
    section = main()
    print("\n".join([*section.summary, "", *section.lines]))

"""`python -m bench`: run every benchmark and write docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import psutil

from bench import directory, endtoend, events, metrics, notifier, pipeline, registry, skeleton
from bench.common import ROOT, Section, machine_description

SETTINGS = (
    "Settings (environment; `make bench` uses the defaults): `BENCH_PIPELINE_EVENTS` (3000), "
    "`BENCH_PIPELINE_ROUNDS` (3), `BENCH_REGISTRATIONS` (1000 per round), `BENCH_WRITE_ROUNDS` "
    "(3), `BENCH_CONCURRENCY` (16), `BENCH_E2E_PEAK_EVENTS` (2000: bursts of 600 gave peaks "
    "from 87 to 153/s, and so half-peak rates that moved the p99 from 163 to 467 ms), "
    "`BENCH_E2E_SECONDS` (45), "
    "`BENCH_EVENTS` (1000, the delivery benchmark), `BENCH_DIRECTORY_ORGS` (10000; 100000 for "
    "the full-scale directory, about ten minutes more), `BENCH_SEED_SECONDS`, "
    "`BENCH_DIRECTORY_REPEATS`, `BENCH_DIRECTORY_BUDGET_SECONDS`, `BENCH_PROFILE` (1; 0 skips "
    "py-spy and FerretDB's pprof), `BENCH_QUIET_SECONDS` (30: before each part, wait at most "
    "that long for the machine to be idle); the events service's (section 4): "
    "`BENCH_ENCUENTRO_ORGS` (100), `BENCH_ENCUENTRO_REGISTRATIONS` (100 per round), "
    "`BENCH_ENCUENTRO_ROUNDS` (2), `BENCH_CHECKIN_PARTICIPANTS` (500), "
    "`BENCH_LATE_REGISTRATIONS` (20), `BENCH_CHECKINS` (32), `BENCH_GROUPING_PARTICIPANTS` "
    "(1000), `BENCH_GROUPING_ROUNDS` (3), `BENCH_CALENDAR_ENCUENTROS` (1000), "
    "`BENCH_CALENDAR_REQUESTS` (5); the metrics service's (section 5): `BENCH_METRICS_ORGS` "
    "(150 organisations, about 270 events, in the fold), `BENCH_METRICS_ENCUENTROS` (2), "
    "`BENCH_METRICS_PEOPLE` (30 per encuentro), `BENCH_METRICS_REBUILD_SECONDS` (30: the "
    "topics hold at least what the live fold folds in that time; the replay takes about twice "
    "as long), "
    "`BENCH_METRICS_REBUILD_EVENTS` (instead, a number of events), `BENCH_METRICS_SIZES` "
    "(1000,100000 organisations for the reads), `BENCH_METRICS_DAYS` (730), "
    "`BENCH_METRICS_READS` (20 of each query per size), `BENCH_METRICS_READ_SECONDS` (5 per "
    "size, then fewer, at least 3); the notifier's (section 6): `BENCH_NOTIFIER_SUBSCRIPTIONS` "
    "(200 webhook subscriptions), `BENCH_NOTIFIER_MAILS` (300), `BENCH_NOTIFIER_ROUNDS` (3), "
    "`BENCH_NOTIFIER_LATENCY_EVENTS` (40, one every 200 ms). Ports: the `BENCH_*_PORT` "
    "variables of `deploy/bench.sh`, which also runs one module against a running bench stack "
    "(`deploy/bench.sh up`, `deploy/bench.sh run pipeline`, `deploy/bench.sh down`)."
)

QUIET_CORES = 0.25  # the bench stack at rest, with Prometheus scraping it

# How to read the profiles, and what the profiles point at; the numbers are in the sections.
READING = [
    "How each bound was found: CPU seconds per process from psutil over exactly the load "
    "(`everything else on the machine` is the rest of the machine's CPU: other stacks' tests, "
    "py-spy itself); `py-spy record` of the Python processes (samples while not idle, put in a "
    "layer by the innermost frame of a known library); FerretDB's Go CPU profile "
    "(`/debug/pprof/profile`) by command and layer; FerretDB's own command counters "
    "(`/debug/metrics`). A process whose cores used approach 1 (Python) or the machine's 2 "
    "bounds the figure; when none does, the figure is bound by waits (round trips in "
    "sequence), and the profiles say whose.",
    "",
    "What the profiles point at (changes in `shared/` or `services/`, not made here):",
    "",
    "- *Pipeline.* See its section. The relay deletes each batch's markers with one "
    "`$in`/`$in` command while it sends the next batch (it used to read them with one scan "
    "and delete them with another, before sending on); on FerretDB each deletion is still a "
    "scan of every pending marker, and with 3,000 written before the drain those scans are "
    "most of FerretDB's work and what the relay waits for. The consumer's side (inbox claim, "
    "projection, completion: three bulk commands per poll) is not the limit. With the "
    "database answered from memory the same code is past the goal (its row): on this backend "
    "the goal is out of reach because of the scans, not the code.",
    "- *Write path.* Both servers are driven by `bench/loadgen.py` (pre-encoded requests on "
    "keep-alive connections, about 0.2 ms of CPU per request; httpx needed about 3.6 ms, more "
    "than the bare app itself, so the 0.50 of the issue was the client's ceiling on both "
    "sides), and the registry measured is one of its own (own database and topics) so that the "
    "other services' reactions to its events do not share its FerretDB meanwhile (they did "
    "until now: 13 ms of their CPU and 5 more FerretDB commands per registration). What is "
    "left bounds it: the registry process's CPU, near a core, several times the bare app's "
    "per request. The bare app parses a body and sends one insert; the registry validates a "
    "profile of twenty fields (RUT, territory, e-mail, URL), builds two events, sends two "
    "commands where the bare app sends one (the marker upsert, then the insert with the "
    "entries: the outbox's price for not losing an event without transactions), runs its "
    "request-context and metrics middleware and its dependencies, keeps its catalogue, and "
    "in the same process the relay encodes and sends two Kafka records and deletes the "
    "markers. The CPU ceilings in the table (1 s / CPU per request) are what each server "
    "would do with the database not the limit: their ratio is the write path's bound in "
    "Python, well under 0.8; a second registry process (MongoDB: several instances) is the "
    "way past it, not a faster FerretDB. The registration calls are held in memory (they "
    "were a read per registration and a tenth of its CPU).",
    "- *End to end.* At half the peak no process is near a core, but the two cores serve "
    "Kafka, FerretDB and five Python processes (1.7 of 2 busy): its p99 is waits in sequence "
    "queued behind that work: the registry's write (marker upsert, insert), the relay's loop "
    "(a batch's sends, one wait for the acknowledgements; its markers' deletion now runs "
    "beside the next batch), the consumer's batch (inbox claim, projection insert, "
    "completion, commit, one after the other). The stage table says which stage's tail is "
    "longest. The open loop is driven by `bench/loadgen.py` too (httpx took 6 ms of CPU per "
    "ping and made a thousand requests leave late).",
    "- *Events.* An encuentro is one document that holds its seat ledger, and every "
    "registration or check-in is a decision on it, one at a time per encuentro: the service "
    "reads the whole document twice (the decision's read, and on FerretDB the "
    "compare-and-set's), the relay a third time (its hint carries no entries while the "
    "previous write's marker is still there, which under concurrency it always is), and "
    "FerretDB rewrites it whole for the save and for the relay's tidy-up. FerretDB's cost "
    "grows with the document (documents to and from JSON is about half its profile), so a "
    "registration costs in proportion to the people already registered, registering n "
    "people costs O(n²), and with 16 clients each check-in waits for the 15 decisions ahead "
    "of it. `POST /rounds` is the same document (its people and every round's groups) plus "
    "one read per organisation present, in sequence (`get_many`); the grouping itself is a "
    "few percent of it. The calendar's query is a filtered `find`, a scan on FerretDB that "
    "decodes every encuentro's whole document (registrations included), and rendering it "
    "with icalendar is more than half of the service's CPU.",
    "- *Metrics.* Organisation events are folded a partition's run at a time under one "
    "process-wide lock (`PROFILE_LOCK`, then matching's; `on_batch(*ORGANIZATION_EVENTS)`): "
    "each organisation read by `_id` once (the reads concurrent), its events folded in memory, "
    "each bucket they touch read and written once per run (a compare-and-set that on FerretDB "
    "is a second read and the update), the organisations already known saved one by one and "
    "the new ones inserted in one command, each document recording the highest offset folded "
    "into it; then matching's reconciliation once per organisation of the run, whose first "
    "step is a filtered find of its answers (a scan on FerretDB) and, when it has some, a "
    "second of its active matches, so it grows with what is stored. On records already on "
    "the topic that is about 2.4 FerretDB commands per event instead of 15 one event at a "
    "time, and more than ten times the rate; the live service folds at about half that "
    "(more commands per event: shorter runs; not analysed further). The round trips in "
    "sequence still bound it (neither the service nor FerretDB near a core). What would "
    "raise it next: one bulk write for the organisations' saves of a run, and sparing "
    "organisations without answers matching's scan (a flag set by `answer_stated`); once "
    "matches exist, matching's scans are most of an organisation's time (see the rebuild). "
    "Encuentro events are "
    "bound by matching: each `NeedsOffersStated` writes its new matches one by one through "
    "the outbox. Reads: on FerretDB `by_ids` (a `$in` on `_id`) and `by_days` (a filter) scan "
    "every bucket, and the buckets grow with days × statuses × calls (about 5,000 in two "
    "years), not with organisations; three `find_one` by `_id` answer the default read in a "
    "few milliseconds at any size, and a date range needs coarser buckets (a month's) or the "
    "buckets held in memory (a few MiB), as the registry holds its catalogue. An encuentro's "
    "figures read its organisations one by one (`get_many`): flat in the registry's size, "
    "linear in the encuentro's organisations.",
    "- *Notifier.* A webhook delivery and an e-mail are each one job on the schedule, run as "
    "a sequence of single-document round trips (claim, reads, save, delete: 6 to 7 FerretDB "
    "commands each), 20 jobs at once in batches of 100: those round trips' CPU (pymongo in the "
    "notifier, FerretDB) bound the fan-out; e-mail is bound by the notifier's own CPU "
    "(composing with the `email` package, a new SMTP connection per message with aiosmtplib's "
    "`getfqdn` in a thread, the same round trips). Its section says what would cut both.",
]


def code_state() -> str:
    """The commit measured, and any uncommitted change to the code (others work here too)."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip()

    changed = sorted(
        line[3:]
        for line in git("status", "--porcelain").splitlines()
        if line[3:].startswith(("shared/", "services/", "bench/"))
    )
    state = f"commit {git('rev-parse', '--short', 'HEAD')}"
    if changed:
        state += f", with uncommitted changes to {', '.join(f'`{c}`' for c in changed)}"
    return state


def wait_for_quiet(limit: float) -> str:
    """Wait (at most `limit` seconds) until the machine is nearly idle: the stack at rest uses
    a few hundredths of a core, so more means another stack's tests are running."""
    started = time.monotonic()
    busy = 0.0
    while True:
        before = psutil.cpu_times()
        time.sleep(3)
        after = psutil.cpu_times()
        busy = (after.user + after.system - before.user - before.system) / 3
        waited = time.monotonic() - started
        if busy < QUIET_CORES:
            return f"quiet after {waited:.0f} s" if waited > 5 else "quiet"
        if waited > limit:
            return f"still {busy:.2f} cores busy after waiting {waited:.0f} s"


def main() -> None:
    started = time.monotonic()
    sections: list[Section] = []
    timings: list[str] = []
    quiet_limit = float(os.environ.get("BENCH_QUIET_SECONDS", "30"))
    for name, run in (
        ("pipeline", pipeline.main),
        ("write path", registry.main),
        ("directory", directory.main),
        ("end to end", endtoend.main),
        ("delivery", lambda: Section(skeleton.main())),
        ("events", events.main),  # after the others: a stack started minutes ago (its set-up)
        ("metrics", metrics.main),  # on topics and databases of its own prefixes
        ("notifier", notifier.main),  # likewise
    ):
        quiet = wait_for_quiet(quiet_limit)
        began = time.monotonic()
        sections.append(run())
        timings.append(f"{name} {(time.monotonic() - began) / 60:.1f} min ({quiet} before)")
    text = [
        "# Benchmarks",
        "",
        "Written by `make bench`. Every figure is compared with a raw baseline measured in the "
        "same run on the same machine, so ratios matter more than absolute numbers.",
        "",
        f"- run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{(time.monotonic() - started) / 60:.0f} minutes ({', '.join(timings)})",
        f"- code: {code_state()}",
        f"- machine: {machine_description()}",
        "",
        SETTINGS,
        "",
        "## Fair ceilings (issues 7 and 8): each figure and what bounds it",
        "",
        "| figure | ours | raw baseline, same run | ratio | goal | what bounds it (profiles "
        "below) |",
        "|---|---|---|---|---|---|",
        *[row for section in sections for row in section.summary],
        "",
        "A **Disturbed** note means other processes on this 2-core machine (another stack's "
        "tests) used a tenth of a core or more during that load: compare ratios, and repeat.",
        "",
        *READING,
        "",
    ]
    for section in sections:
        text += [*section.lines, ""]
    output = "\n".join(text)
    (ROOT / "docs" / "benchmarks.md").write_text(output)
    print(output)


if __name__ == "__main__":
    main()

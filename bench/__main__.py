"""`python -m bench`: run every benchmark and write docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import time

from bench import endtoend, pipeline, registry, skeleton
from bench.common import ROOT, Section, machine_description

SETTINGS = """\
Settings (environment; `make bench` uses the defaults): `BENCH_PIPELINE_EVENTS` (3000),
`BENCH_PIPELINE_ROUNDS` (2), `BENCH_REGISTRATIONS` (1000), `BENCH_CONCURRENCY` (16),
`BENCH_E2E_PEAK_EVENTS` (600), `BENCH_E2E_SECONDS` (30), `BENCH_EVENTS` (1000, the delivery
benchmark), `BENCH_DIRECTORY_ORGS` (10000; 100000 for the full-scale directory, about ten
minutes more), `BENCH_SEED_SECONDS`, `BENCH_DIRECTORY_REPEATS`, `BENCH_DIRECTORY_BUDGET_SECONDS`,
`BENCH_PROFILE` (1; 0 skips py-spy and FerretDB's pprof). Ports: `BENCH_*_PORT` in
`deploy/bench.sh`, which also runs one module against a running bench stack
(`deploy/bench.sh up`, `deploy/bench.sh run pipeline`, `deploy/bench.sh down`)."""


def main() -> None:
    started = time.monotonic()
    sections: list[Section] = []
    timings: list[str] = []
    for name, run in (
        ("pipeline", pipeline.main),
        ("write path and directory", registry.main),
        ("end to end", endtoend.main),
        ("delivery", lambda: Section(skeleton.main())),
    ):
        began = time.monotonic()
        sections.append(run())
        timings.append(f"{name} {(time.monotonic() - began) / 60:.1f} min")
    text = [
        "# Benchmarks",
        "",
        "Written by `make bench`. Every figure is compared with a raw baseline measured in the "
        "same run on the same machine, so ratios matter more than absolute numbers.",
        "",
        f"- run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{(time.monotonic() - started) / 60:.0f} minutes ({', '.join(timings)})",
        f"- machine: {machine_description()}",
        "",
        SETTINGS,
        "",
        "## Fair ceilings (issue 7): the three figures and what bounds each",
        "",
        "| figure | ours | raw baseline, same run | ratio | goal | what bounds it (profiles "
        "below) |",
        "|---|---|---|---|---|---|",
        *[row for section in sections for row in section.summary],
        "",
        "A **Disturbed** note means other processes on this 2-core machine (another stack's "
        "tests) used a tenth of a core or more during that load: compare ratios, and repeat.",
        "",
    ]
    for section in sections:
        text += [*section.lines, ""]
    output = "\n".join(text)
    (ROOT / "docs" / "benchmarks.md").write_text(output)
    print(output)


if __name__ == "__main__":
    main()

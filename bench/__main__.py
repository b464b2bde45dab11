"""`python -m bench`: run every benchmark and write docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt

from bench import registry, skeleton
from bench.common import ROOT, machine_description


def main() -> None:
    sections = [skeleton.main(), registry.main()]
    text = [
        "# Benchmarks",
        "",
        "Written by `make bench`. Every figure is compared with a raw baseline measured in the "
        "same run on the same machine, so ratios matter more than absolute numbers.",
        "",
        f"- run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine_description()}",
        "",
    ]
    for section in sections:
        text += [*section, ""]
    output = "\n".join(text)
    (ROOT / "docs" / "benchmarks.md").write_text(output)
    print(output)


if __name__ == "__main__":
    main()

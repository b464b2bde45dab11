"""A service against its own OpenAPI document: schemathesis with every check, all four phases.

`find_nonconformance` runs schemathesis' own engine (what `schemathesis run` runs) in-process
against a service that is already up: the examples, coverage, fuzzing and stateful phases, with
every check of the installed schemathesis (`--checks all`), once per set of headers (say
anonymous and staff), and returns what it found as `Finding`s, with the links the stateful
phase followed; a test asserts there are no findings and prints `report(findings)` when there
are.

Generated path ids would only ever meet 404s, so a service's test module passes
`point_at_records`, which replaces generated ids with ids of records it seeded, just before
each request (`ids_from` does it most of the time, choosing from the generated value so that
Hypothesis explores the choice, and leaves ids a link supplied alone). The stateful phase
follows the document's own OpenAPI links from the records it creates (link inference is off:
a guessed link is not something the document says).

Rules a JSON Schema cannot state (a check digit, one field against another) belong in the
document's descriptions and in a schemathesis hooks module that teaches them to the generator
(the registry's is `tests/integration/registry_rules.py`, which `schemathesis.toml` also loads
for `schemathesis run`).

Runs are bounded (`max_examples` per operation and phase, no shrinking, a fixed seed), so a
service's module stays well under two minutes on a small machine.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema
from schemathesis.generation.case import Case
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER

PHASES = ("examples", "coverage", "fuzzing", "stateful")


@dataclass
class Run:
    """What one `find_nonconformance` call found, and which links its stateful phase followed
    (`"POST /v1/things -> GET /v1/things/{thing_id}"`)."""

    findings: list[Finding]
    links_followed: set[str]


@dataclass(frozen=True)
class Finding:
    """One distinct failure: which check, on which operation, in which phase, with what."""

    headers: str  # the label of the header set the request was sent with
    phase: str
    check: str
    operation: str
    title: str
    message: str
    reproduce: str  # a curl command
    status: int | None = None  # of the response the check failed on
    response: str = ""  # the start of its body

    def key(self) -> tuple[str, str, str, str]:
        return (self.headers, self.check, self.operation, self.title)


def pool_index(generated: Any, pool_size: int) -> int | None:
    """An index into a pool of `pool_size` seeded ids, or None (keep the generated id) for one
    value in `pool_size + 1`, derived from the generated value so Hypothesis explores it."""
    index = len(str(generated)) % (pool_size + 1)
    return index if index < pool_size else None


def ids_from(
    pools: Mapping[str, Sequence[str]],
    *,
    issued: Callable[[str], bool] = lambda value: False,
    fresh: Mapping[tuple[str, str], Callable[[], str]] | None = None,
) -> Callable[[Case[Any]], None]:
    """`point_at_records` that draws each path parameter named in `pools` from its pool.

    A value for which `issued` is true (an id the service gave out, which a link supplied or
    schemathesis took from an earlier answer) is kept. `fresh[(method, name)]` makes a new
    record for every such request instead (say a DELETE, after which the record is no longer
    what the other operations expect).
    """

    def point(case: Case[Any]) -> None:
        params = case.path_parameters
        if not params:
            return
        for name, pool in pools.items():
            value = params.get(name)
            if value is None or not pool:
                continue
            make = (fresh or {}).get((case.method.upper(), name))
            if make is not None:
                params[name] = make()
                continue
            index = pool_index(value, len(pool))
            if index is not None and not issued(str(value)):
                params[name] = pool[index]

    return point


def find_nonconformance(
    document: dict[str, Any],
    base_url: str,
    *,
    header_sets: Mapping[str, Mapping[str, str]],
    point_at_records: Callable[[Case[Any]], None] | None = None,
    phases: Iterable[str] = PHASES,
    max_examples: int = 25,
    stateful_examples: int | None = None,
    max_steps: int | None = None,
    seed: int = 1,
    workers: int = 1,
) -> Run:
    """Every distinct failure schemathesis' checks find, for each header set in turn.

    `max_examples` bounds the cases per operation of the fuzzing phase and the scenarios of the
    stateful phase (`stateful_examples` if given: scenarios are cheap and reach further links);
    the examples and coverage phases enumerate the schema once."""
    findings: dict[tuple[str, str, str, str], Finding] = {}
    links: set[str] = set()
    pointer = _pointer(point_at_records) if point_at_records is not None else None
    if pointer is not None:
        GLOBAL_HOOK_DISPATCHER.register_hook_with_name(pointer, "before_call")
    try:
        for label, headers in header_sets.items():
            schema = _schema(document, base_url, dict(headers), phases, max_examples, seed)
            schema.config.update(workers=workers)
            if max_steps is not None:
                schema.config.phases.stateful.max_steps = max_steps
            if stateful_examples is not None:
                schema.config.phases.stateful.generation.update(max_examples=stateful_examples)
            for finding in _run(schema, label, links):
                findings.setdefault(finding.key(), finding)
    finally:
        if pointer is not None:
            GLOBAL_HOOK_DISPATCHER.unregister(pointer)
    return Run(list(findings.values()), links)


def report(findings: Sequence[Finding]) -> str:
    """Readable summary, one block per finding."""
    blocks = [
        f"[{f.headers}] {f.phase} · {f.check} · {f.operation}\n  {f.title}\n"
        + textwrap.indent(f.message.strip(), "    ")
        + f"\n    {f.reproduce}"
        + (f"\n    → {f.status} {f.response}" if f.status else "")
        for f in findings
    ]
    return f"{len(findings)} finding(s):\n\n" + "\n\n".join(blocks)


def _schema(
    document: dict[str, Any],
    base_url: str,
    headers: dict[str, str],
    phases: Iterable[str],
    max_examples: int,
    seed: int,
) -> Any:
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=base_url, headers=headers or None)
    schema.config.phases.update(phases=list(phases))
    schema.config.phases.stateful.inference.algorithms = []
    schema.config.checks.update(included_check_names=["all"])
    schema.config.generation.update(max_examples=max_examples, no_shrink=True)
    schema.config.seed = seed
    return schema


def _pointer(
    point: Callable[[Case[Any]], None],
) -> Callable[[Any, Case[Any], dict[str, Any]], None]:
    def before_call(context: Any, case: Case[Any], kwargs: dict[str, Any]) -> None:
        point(case)

    return before_call


def _followed(recorder: Any) -> Iterable[str]:
    for node in recorder.cases.values():
        if node.transition is not None and node.is_transition_applied and node.parent_id:
            parent = recorder.cases.get(node.parent_id)
            if parent is not None:
                yield f"{parent.value.operation.label} -> {node.value.operation.label}"


def _excerpt(response: Any) -> str:
    if response is None:
        return ""
    body = response.content.decode("utf-8", "replace") if response.content else ""
    return body[:300]


def _run(schema: Any, label: str, links: set[str]) -> Iterable[Finding]:
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            links.update(_followed(recorder))
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    info = check.failure_info
                    if info is None:
                        continue
                    case = recorder.cases[case_id].value
                    interaction = recorder.interactions.get(case_id)
                    answer = interaction.response if interaction is not None else None
                    yield Finding(
                        headers=label,
                        phase=str(event.phase.value),
                        check=check.name,
                        operation=case.operation.label,
                        title=info.failure.title,
                        message=str(info.failure.message),
                        reproduce=info.code_sample,
                        status=answer.status_code if answer is not None else None,
                        response=_excerpt(answer),
                    )
        elif isinstance(event, events.NonFatalError):
            message = repr(event.value)
            yield Finding(label, str(event.phase), "error", event.label, "error", message, "")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                yield Finding(label, "after run", "run", "", failure.title, failure.message, "")

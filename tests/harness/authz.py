"""Authorisation matrices as the services' tests write them: a table of route × caller."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx


def policy(matrix: str, callers: tuple[str, ...]) -> dict[tuple[str, str], dict[str, int]]:
    """`{(method, path): {caller: status}}` from a table whose first line names the columns
    and each other line reads `METHOD /path status status …`, one status per caller."""
    lines = [line.split() for line in matrix.strip().splitlines()[1:]]
    table = {(m, p): dict(zip(callers, map(int, codes), strict=True)) for m, p, *codes in lines}
    assert len(table) == len(lines), "a route appears twice in the table"
    return table


def check_row(
    http: httpx.Client,
    method: str,
    expected: Mapping[str, int],
    headers: Mapping[str, Mapping[str, str]],
    request: Callable[[str], tuple[str, dict[str, Any] | None]],
) -> None:
    """Call one route as each caller (`request(caller)` gives the path and body) and compare
    the answers with the table's row; refusals must be problem+json."""
    found: dict[str, int] = {}
    answers: dict[str, str] = {}
    for caller in expected:
        path, body = request(caller)
        r = http.request(method, path, json=body, headers=dict(headers[caller]))
        found[caller], answers[caller] = r.status_code, r.text[:300]
        if r.status_code in (401, 403):
            assert r.headers["content-type"].startswith("application/problem+json")
    assert found == dict(expected), {c: answers[c] for c in expected if found[c] != expected[c]}

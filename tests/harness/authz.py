"""Authorisation matrices as the services' tests write them: a table of route × caller."""

from __future__ import annotations


def policy(matrix: str, callers: tuple[str, ...]) -> dict[tuple[str, str], dict[str, int]]:
    """`{(method, path): {caller: status}}` from a table whose first line names the columns
    and each other line reads `METHOD /path status status …`, one status per caller."""
    lines = [line.split() for line in matrix.strip().splitlines()[1:]]
    table = {(m, p): dict(zip(callers, map(int, codes), strict=True)) for m, p, *codes in lines}
    assert len(table) == len(lines), "a route appears twice in the table"
    return table

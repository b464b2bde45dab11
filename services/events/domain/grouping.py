"""Splitting an encuentro's checked-in participants into the groups of a round (pure logic).

Rules, in order of priority (a later one never breaks an earlier one):

- Count: k = participants / group_size rounded to nearest (halves up), at least 1, but at most
  participants // 3, so no group has fewer than 3 people when there are 3 or more (two people
  are a chat, not a group). 0 participants give no groups, 1 or 2 give one group.
- Balance: group sizes differ by at most one, so no group is left short of voices.
- Organisations: an organisation with at most k people never has two in one group; a larger one
  gets floor or ceil(count / k) in every group. Rounds exist to mix organisations.
- Sectors and regions: a secondary objective, so each group hears several points of view. Each
  seat goes, among the groups the rules above allow, to the one where it repeats its sector and
  its region least, going over a value's fair share ceil(total / k) counting extra.
- Determinism: the input is read as a set (sorted by registration_id, a repeated id refused) and
  every free choice goes by a stable hash of (round_number, registration_id), so the same input
  and round give the same groups (a retry changes nothing) while the next round mixes anew.

Placement is greedy and never backtracks, O(n·k). Organisations with two or more people go
first, largest first: each gives floor(count / k) people to every group and one more to the
groups with the most room left, which keeps the room left within one across groups, so every
later organisation still fits. People alone from their organisation go last, wherever there is
room, value by value with the commonest sectors and regions first (the hardest to spread); with
one trait known and nobody sharing an organisation, no group then exceeds a fair share.
Groups come out ordered by their first registration_id, members sorted by registration_id.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import add

MIN_GROUP = 3  # smallest group where there are at least this many participants
_CLOSED = 1 << 62  # key of a group a seat may not join
_OVER = 2  # extra cost of going over a fair share, in repeats


@dataclass(frozen=True)
class Seat:
    """A checked-in participant as grouping sees them: nothing personal."""

    registration_id: str
    organization_id: str
    sector: str | None = None
    region: str | None = None


def group_count(participants: int, group_size: int) -> int:
    """How many groups a round of `participants` has for a requested `group_size`."""
    if group_size < 2:
        raise ValueError("group_size must be at least 2")
    if participants < 0:
        raise ValueError("participants must not be negative")
    if participants == 0:
        return 0
    nearest = (2 * participants + group_size) // (2 * group_size)  # round half up
    return max(1, min(nearest, participants // MIN_GROUP))


def _key(round_number: int, kind: str, value: str) -> int:
    """A stable 64-bit ordering key (Python's hash() changes between processes)."""
    digest = hashlib.blake2b(f"{round_number}\x1f{kind}\x1f{value}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


class _Spread:
    """One trait to spread (sector or region): per value, what adding a seat costs per group.

    Adding a seat to a group costs the people of its value already there, plus `_OVER` once
    that reaches the value's fair share ceil(total / k): going over a fair share is worse than
    one more ordinary repeat. None is no value and costs nothing.
    """

    def __init__(self, values: list[str | None], k: int, weight: int) -> None:
        self.totals = Counter(value for value in values if value is not None)
        names = sorted(self.totals)
        self.index = {value: i for i, value in enumerate(names)}
        self.share = [-(-self.totals[value] // k) for value in names]  # ceil(total / k)
        self.counts = [[0] * k for _ in names]
        self.cost = [[0] * k for _ in names]  # weight × (count + _OVER if at the share)
        self.none = [0] * k
        self.weight = weight

    def costs(self, value: str | None) -> list[int]:
        """Per group, what adding a seat of `value` costs (the list is live: do not change it)."""
        return self.none if value is None else self.cost[self.index[value]]

    def add(self, value: str | None, group: int) -> None:
        """Count a seat of `value` placed in `group`."""
        if value is None:
            return
        i = self.index[value]
        count = self.counts[i][group] = self.counts[i][group] + 1
        over = _OVER if count >= self.share[i] else 0
        self.cost[i][group] = self.weight * (count + over)


class _Tables:
    """The groups being filled, with the sector and region spread placement looks at."""

    def __init__(self, sizes: list[int], seats: list[Seat]) -> None:
        self.k = len(sizes)
        self.room = list(sizes)
        self.members: list[list[Seat]] = [[] for _ in sizes]
        weight = max(sizes) + 1  # one repeat outweighs any difference in room left
        self.sectors = _Spread([seat.sector for seat in seats], self.k, weight)
        self.regions = _Spread([seat.region for seat in seats], self.k, weight)
        # room_key[g]: lower is better; more room left wins ties, a full group is closed.
        self.room_key = [-size if size else _CLOSED for size in sizes]

    def commonness(self, seat: Seat) -> int:
        """How many seats share this seat's sector plus how many share its region."""
        sectors, regions = self.sectors.totals, self.regions.totals
        return (sectors[seat.sector] if seat.sector else 0) + (
            regions[seat.region] if seat.region else 0
        )

    def place(self, seat: Seat, tie_break: int, barred: list[int] | None = None) -> int:
        """Put `seat` in the best open group not barred (barred[g] != 0); return that group."""
        by_sector = self.sectors.costs(seat.sector)
        by_region = self.regions.costs(seat.region)
        # key[g] = spread cost + room key (+ bar), built with map() as this is the hot loop.
        keys = list(map(add, map(add, by_sector, by_region), self.room_key))
        if barred is not None:
            keys = list(map(add, keys, barred))
        lowest = min(keys)
        if lowest >= _CLOSED:  # unreachable while the counting argument holds
            raise AssertionError("no group can take this seat")
        start = tie_break % self.k  # among equal keys, the seat's hash picks where to look first
        try:
            group = keys.index(lowest, start)
        except ValueError:
            group = keys.index(lowest)
        self.members[group].append(seat)
        self.room[group] -= 1
        self.room_key[group] = -self.room[group] if self.room[group] else _CLOSED
        self.sectors.add(seat.sector, group)
        self.regions.add(seat.region, group)
        return group


def form_groups(
    seats: Sequence[Seat], group_size: int, *, round_number: int = 1
) -> list[list[Seat]]:
    """The groups of round `round_number` for the checked-in `seats` (see the module rules)."""
    if group_size < 2:
        raise ValueError("group_size must be at least 2")
    ordered = sorted(seats, key=lambda seat: seat.registration_id)
    for before, after in itertools.pairwise(ordered):
        if before.registration_id == after.registration_id:
            raise ValueError(f"registration {after.registration_id!r} appears twice")
    n = len(ordered)
    k = group_count(n, group_size)
    if k == 0:
        return []
    sizes = [n // k + (1 if g < n % k else 0) for g in range(k)]
    tables = _Tables(sizes, ordered)
    seat_key = {s.registration_id: _key(round_number, "seat", s.registration_id) for s in ordered}

    by_org: dict[str, list[Seat]] = {}
    for seat in ordered:
        by_org.setdefault(seat.organization_id, []).append(seat)
    for members in by_org.values():
        members.sort(key=lambda seat: seat_key[seat.registration_id])
    crowded = sorted(
        (org for org, members in by_org.items() if len(members) > 1),
        key=lambda org: (-len(by_org[org]), _key(round_number, "org", org)),
    )
    for org in crowded:
        _place_organization(tables, by_org[org], seat_key)

    # Commonest sectors and regions first (the hardest to spread), one value after another.
    alone = sorted(
        (members[0] for members in by_org.values() if len(members) == 1),
        key=lambda seat: (
            -tables.commonness(seat),
            seat.sector or "",
            seat.region or "",
            seat_key[seat.registration_id],
        ),
    )
    for seat in alone:
        tables.place(seat, seat_key[seat.registration_id])

    groups = [sorted(group, key=lambda seat: seat.registration_id) for group in tables.members]
    return sorted(groups, key=lambda group: group[0].registration_id)


def _place_organization(tables: _Tables, members: list[Seat], seat_key: dict[str, int]) -> None:
    """Spread one organisation: floor(c/k) per group, one more in the groups with most room.

    The room left is within one across groups (top or top - 1) before and after, so the
    r = c mod k extras fit in the r roomiest groups: all of them if r is at most the number of
    groups at the top, else every group at the top plus r minus that many of the others.
    """
    k = tables.k
    before = list(tables.room)  # room left before this organisation
    base, extra = divmod(len(members), k)
    top = max(before)
    at_top = before.count(top)
    threshold = top if extra <= at_top else top - 1  # room of the r-th roomiest group
    optional = extra - at_top if extra > at_top else extra  # extras for groups at threshold
    taken = [0] * k
    # With base 0 only groups that may take an extra are open; with base > 0 all are.
    barred = [0 if room >= threshold else _CLOSED for room in before] if not base else [0] * k
    for seat in members:
        group = tables.place(seat, seat_key[seat.registration_id], barred)
        taken[group] += 1
        must = extra > 0 and before[group] > threshold
        if taken[group] > base:
            barred[group] = _CLOSED  # base + 1 is the most any group gets
            if not must:
                optional -= 1
                if optional == 0:  # the other groups at threshold stay at base
                    barred = [
                        _CLOSED if room <= threshold and count >= base else bar
                        for room, count, bar in zip(before, taken, barred, strict=True)
                    ]
        elif taken[group] == base:
            may_take_extra = extra > 0 and (must or (before[group] == threshold and optional))
            if not may_take_extra:
                barred[group] = _CLOSED

"""Grouping the checked-in participants of a round: partition, balance, organisations, spread."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.events.domain.grouping import Seat, form_groups, group_count

SECTORS = ["sociedad_civil", "privado", "publico", "academia", "organismo_internacional"]
REGIONS = ["CL-RM", "CL-BI", "CL-ML", "CL-VS", "CL-AR"]
DOMINANT = "org-dominant"

group_sizes = st.integers(min_value=2, max_value=12)
rounds = st.integers(min_value=1, max_value=20)


@st.composite
def seat_lists(draw: st.DrawFn, max_size: int = 80) -> list[Seat]:
    """Seats of a few organisations, often one dominant one with more people than groups."""
    ids = draw(st.lists(st.integers(0, 10**6), unique=True, max_size=max_size))
    organisations = draw(st.integers(min_value=1, max_value=30))
    dominant_share = draw(st.sampled_from([0.0, 0.0, 0.3, 0.6, 0.9]))
    seats = []
    for number in ids:
        if draw(st.floats(0, 1)) < dominant_share:
            organization = DOMINANT
        else:
            organization = f"org-{draw(st.integers(0, organisations - 1))}"
        seats.append(
            Seat(
                registration_id=f"reg-{number}",
                organization_id=organization,
                sector=draw(st.none() | st.sampled_from(SECTORS)),
                region=draw(st.none() | st.sampled_from(REGIONS)),
            )
        )
    return seats


def org_counts(group: Sequence[Seat]) -> Counter[str]:
    return Counter(seat.organization_id for seat in group)


def check_rules(seats: Sequence[Seat], group_size: int, groups: list[list[Seat]]) -> None:
    """Every rule the module promises, for one call."""
    n = len(seats)
    k = len(groups)
    assert k == group_count(n, group_size)
    # partition: every seat exactly once
    placed = [seat for group in groups for seat in group]
    assert len(placed) == n
    assert sorted(placed, key=lambda s: s.registration_id) == sorted(
        seats, key=lambda s: s.registration_id
    )
    if n == 0:
        assert groups == []
        return
    # balance and minimum size
    sizes = [len(group) for group in groups]
    assert max(sizes) - min(sizes) <= 1
    assert min(sizes) >= (3 if n >= 3 else n)
    # organisations: never two of one where that can hold, else spread as evenly as possible
    totals = org_counts(seats)
    for group in groups:
        for organization, count in org_counts(group).items():
            assert count <= math.ceil(totals[organization] / k)
    if max(totals.values()) <= k:
        assert all(max(org_counts(group).values()) == 1 for group in groups)
    # stable order
    for group in groups:
        assert [s.registration_id for s in group] == sorted(s.registration_id for s in group)
    firsts = [group[0].registration_id for group in groups]
    assert firsts == sorted(firsts)


@settings(max_examples=300, deadline=None)
@given(seats=seat_lists(), group_size=group_sizes, round_number=rounds)
def test_every_rule_holds(seats: list[Seat], group_size: int, round_number: int) -> None:
    check_rules(seats, group_size, form_groups(seats, group_size, round_number=round_number))


@settings(deadline=None)
@given(seats=seat_lists(), group_size=group_sizes, round_number=rounds, shuffler=st.randoms())
def test_input_order_does_not_matter(
    seats: list[Seat], group_size: int, round_number: int, shuffler: random.Random
) -> None:
    shuffled = list(seats)
    shuffler.shuffle(shuffled)
    expected = form_groups(seats, group_size, round_number=round_number)
    assert form_groups(shuffled, group_size, round_number=round_number) == expected
    assert form_groups(tuple(shuffled), group_size, round_number=round_number) == expected


@settings(deadline=None)
@given(
    organisations=st.integers(1, 10),
    others=st.integers(0, 40),
    dominant=st.integers(2, 40),
    group_size=group_sizes,
)
def test_a_dominant_organisation_is_spread_evenly(
    organisations: int, others: int, dominant: int, group_size: int
) -> None:
    seats = [Seat(f"d-{i:02d}", DOMINANT, SECTORS[i % 5], REGIONS[i % 3]) for i in range(dominant)]
    seats += [Seat(f"o-{i:02d}", f"org-{i % organisations}", SECTORS[i % 2]) for i in range(others)]
    groups = form_groups(seats, group_size)
    check_rules(seats, group_size, groups)
    spread = [org_counts(group)[DOMINANT] for group in groups]
    assert max(spread) - min(spread) <= 1


@settings(deadline=None)
@given(
    sectors=st.lists(st.sampled_from(SECTORS), min_size=3, max_size=120),
    group_size=group_sizes,
    round_number=rounds,
)
def test_one_trait_alone_gets_its_fair_share(
    sectors: list[str], group_size: int, round_number: int
) -> None:
    # Nobody shares an organisation and only sectors are known: no group holds more than
    # ceil(total / k) people of a sector (with regions too, this is only an aim).
    seats = [Seat(f"reg-{i:03d}", f"org-{i}", sector) for i, sector in enumerate(sectors)]
    groups = form_groups(seats, group_size, round_number=round_number)
    totals = Counter(sectors)
    for group in groups:
        for sector, count in Counter(seat.sector or "" for seat in group).items():
            assert count <= math.ceil(totals[sector] / len(groups))


@given(participants=st.integers(0, 5000), group_size=group_sizes)
def test_group_count(participants: int, group_size: int) -> None:
    k = group_count(participants, group_size)
    if participants == 0:
        assert k == 0
        return
    assert k >= 1
    if participants >= 3:
        assert participants // k >= 3
    nearest = max(1, math.floor(participants / group_size + 0.5))
    assert k == min(nearest, max(1, participants // 3))


def test_ten_people_of_ten_organisations_by_four() -> None:
    seats = [Seat(f"reg-{i}", f"org-{i}") for i in range(10)]
    groups = form_groups(seats, 4)
    assert sorted(len(group) for group in groups) == [3, 3, 4]
    assert all(len(org_counts(group)) == len(group) for group in groups)


def test_five_of_one_organisation_and_five_others() -> None:
    seats = [Seat(f"a-{i}", "org-a") for i in range(5)]
    seats += [Seat(f"b-{i}", f"org-b{i}") for i in range(5)]
    by_five = form_groups(seats, 5)  # 2 groups: org-a cannot avoid repeats, 3 and 2
    assert sorted(org_counts(group)["org-a"] for group in by_five) == [2, 3]
    by_three = form_groups(seats, 3)  # 3 groups: at most 2 of org-a in any
    assert sorted(org_counts(group)["org-a"] for group in by_three) == [1, 2, 2]
    check_rules(seats, 5, by_five)
    check_rules(seats, 3, by_three)


def test_organisations_no_larger_than_the_group_count_never_repeat() -> None:
    seats = [Seat(f"reg-{i:02d}", f"org-{i % 4}") for i in range(16)]  # 4 each
    groups = form_groups(seats, 4)  # 4 groups of 4
    assert all(sorted(org_counts(group).values()) == [1, 1, 1, 1] for group in groups)


@pytest.mark.parametrize(("participants", "expected"), [(0, []), (1, [1]), (2, [2]), (3, [3])])
def test_small_rounds(participants: int, expected: list[int]) -> None:
    seats = [Seat(f"reg-{i}", "org") for i in range(participants)]
    assert [len(group) for group in form_groups(seats, 2)] == expected


def test_sectors_and_regions_are_mixed() -> None:
    seats = [
        Seat(f"reg-{i:02d}", f"org-{i}", SECTORS[i % 4], REGIONS[i // 4]) for i in range(16)
    ]  # 4 sectors × 4 regions, one of each pair
    groups = form_groups(seats, 4)
    for group in groups:
        assert len({seat.sector for seat in group}) == 4
        assert len({seat.region for seat in group}) == 4


def test_same_round_repeats_and_the_next_one_mixes_anew() -> None:
    seats = [Seat(f"reg-{i:02d}", f"org-{i % 20}", SECTORS[i % 5]) for i in range(40)]
    first = form_groups(seats, 5, round_number=1)
    assert form_groups(seats, 5, round_number=1) == first
    second = form_groups(seats, 5, round_number=2)
    assert second != first
    check_rules(seats, 5, second)


def test_a_thousand_seats() -> None:
    rng = random.Random(7)
    seats = [
        Seat(
            f"reg-{i:04d}",
            "org-big" if i % 4 == 0 else f"org-{rng.randrange(300)}",
            rng.choice(SECTORS),
            rng.choice(REGIONS),
        )
        for i in range(1000)
    ]
    for group_size in (3, 6, 12):
        check_rules(seats, group_size, form_groups(seats, group_size))


@pytest.mark.parametrize("group_size", [1, 0, -3])
def test_group_size_below_two_is_refused(group_size: int) -> None:
    with pytest.raises(ValueError):
        form_groups([Seat("reg-1", "org-1")], group_size)
    with pytest.raises(ValueError):
        group_count(5, group_size)


def test_a_registration_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="reg-1"):
        form_groups([Seat("reg-1", "org-1"), Seat("reg-1", "org-2"), Seat("reg-2", "o")], 2)


def test_negative_participants_are_refused() -> None:
    with pytest.raises(ValueError):
        group_count(-1, 4)

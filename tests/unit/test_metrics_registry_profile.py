"""The registry profile statistic folded from organisation snapshots, without infrastructure:
seed 003's published figures from 72 organisations, filters, and changes moving counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from services.metrics.domain.registry_profile import (
    BucketKey,
    ProfileFacts,
    ProfileQuery,
    Tally,
    bucket_ids,
    buckets_to_read,
    profile_of,
)
from shared.events.registry import OrganizationSnapshot

MACROZONE_OF = {"CL-RM": "centro_sur", "CL-VS": "norte_centro", "CL-AR": "sur_austral"}


def snapshot(n: int, **overrides: Any) -> OrganizationSnapshot:
    head = overrides.pop("head_office_region", "CL-RM")
    data: dict[str, Any] = {
        "rut": f"{n}-0",
        "name": f"Org {n}",
        "sector": "sociedad_civil",
        "legal_form": "fundacion",
        "head_office_region": head,
        "macrozone": MACROZONE_OF[head],
        "regions": (head,),
        "scope": "regional",
        "roles": ("programas",),
        "themes": ("pobreza",),
        "links_with_others": True,
        "has_alliances": True,
        "status": "active",
        "verified": False,
        "listed": True,
        "call_id": "call-2021",
        "registered_at": datetime(2021, 9, 1 + n % 22, 12, tzinfo=UTC),
    }
    data.update(overrides)
    return OrganizationSnapshot.model_validate(data)


class Buckets:
    """The projection's buckets in memory: what storage keeps one document each of."""

    def __init__(self) -> None:
        self.tallies: dict[BucketKey, Tally] = defaultdict(Tally)

    def move(self, before: ProfileFacts | None, after: ProfileFacts) -> None:
        if before is not None:
            for key in bucket_ids(before):
                self.tallies[key].add(before.tally(), -1)
        for key in bucket_ids(after):
            self.tallies[key].add(after.tally())

    def read(self, **query: Any) -> Any:
        q = ProfileQuery(**query)
        ids = buckets_to_read(q)
        if ids is not None:
            return profile_of(q, [t for k, t in self.tallies.items() if k.id in ids])
        low, high = q.registered_from or date.min, q.registered_to or date.max
        chosen = [
            t
            for k, t in self.tallies.items()
            if k.day is not None
            and low <= k.day <= high
            and k.status in q.statuses
            and k.call_id == q.call_id
        ]
        return profile_of(q, chosen)


def seed_003() -> list[OrganizationSnapshot]:
    """72 organisations with seed 003's proportions (counts chosen to give its percents)."""
    sectors = ["sociedad_civil"] * 55 + ["privado"] * 8 + ["publico"] * 5 + ["academia"] * 3
    sectors += ["organismo_internacional"]
    orgs = []
    for n, sector in enumerate(sectors):
        head = "CL-RM" if n < 43 else ("CL-VS" if n < 60 else "CL-AR")
        links = None if n >= 70 else n < 56
        orgs.append(
            snapshot(
                n,
                sector=sector,
                head_office_region=head,
                scope="regional" if n % 72 < 34 else "nacional",
                links_with_others=links,
                has_alliances=n < 69,
                themes=("pobreza", "educacion") if n % 2 else ("pobreza",),
            )
        )
    return orgs


def test_seed_003_figures_from_72_organisations() -> None:
    buckets = Buckets()
    for org in seed_003():
        buckets.move(None, ProfileFacts.from_snapshot(org))

    group = {g.key: g for g in buckets.read(by="sector_group").groups}
    assert (group["privado"].count, group["privado"].percent) == (63, 88)  # 87.5 → 88
    macro = {g.key: g for g in buckets.read(by="macrozone").groups}
    assert (macro["centro_sur"].count, macro["centro_sur"].percent) == (43, 60)
    scope = {g.key: g for g in buckets.read(by="scope").groups}
    assert (scope["regional"].count, scope["regional"].percent) == (34, 47)
    links = buckets.read(by="links_with_others")
    assert links.total == 72 and links.answered == 70  # over those who answered: 56 of 70
    assert {g.key: g.percent for g in links.groups} == {"true": 80, "false": 20}
    alliances = {g.key: g for g in buckets.read(by="has_alliances").groups}
    assert alliances["true"].percent == 96
    themes = {g.key: g for g in buckets.read(by="theme").groups}
    assert themes["pobreza"].percent == 100 and themes["educacion"].percent == 50
    assert themes["vivienda"].count == 0, "a fixed vocabulary lists every value"


def test_filters_by_call_dates_and_status() -> None:
    buckets = Buckets()
    for n in range(10):
        buckets.move(None, ProfileFacts.from_snapshot(snapshot(n, call_id="a" if n < 6 else "b")))
    assert buckets.read(by="sector", call_id="a").total == 6
    days = buckets.read(
        by="sector", registered_from=date(2021, 9, 1), registered_to=date(2021, 9, 3)
    )
    assert days.total == 3
    assert buckets.read(by="sector", statuses=["withdrawn"]).total == 0


def test_a_change_moves_the_contribution() -> None:
    buckets = Buckets()
    first = ProfileFacts.from_snapshot(snapshot(1, sector="privado"))
    buckets.move(None, first)
    changed = ProfileFacts.from_snapshot(snapshot(1, sector="publico"))
    buckets.move(first, changed)
    groups = {g.key: g.count for g in buckets.read(by="sector").groups}
    assert groups["privado"] == 0 and groups["publico"] == 1
    withdrawn = ProfileFacts.from_snapshot(snapshot(1, sector="publico", status="withdrawn"))
    buckets.move(changed, withdrawn)
    assert buckets.read(by="sector").total == 0
    assert buckets.read(by="sector", statuses=["withdrawn"]).total == 1

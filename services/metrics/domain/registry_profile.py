"""The registry profile statistic (`GET /v1/stats/registry`), folded from organisation events.

Each organisation contributes a `Tally` (one organisation; one count per value of each
dimension; one "answered" per dimension it answered) to a few buckets: all organisations of its
status, of its status and call, of its status and registration day, of all three. An event
moves the organisation's contribution from the buckets of its old state to those of its new
one: constant work per event, whatever the size of the ecosystem. A read adds the buckets its
filters name (three statuses by default; a date range adds one bucket per day), so it does not
grow with the number of organisations either.

Shares are over those who answered (domain.md §7): `links_with_others` and `has_alliances` over
the organisations that said yes or no; multi-valued fields (regions, roles, themes, traits) as
the share of organisations having each value, so they can add up to more than 100%.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final, Literal

from pydantic import BaseModel

from services.metrics.domain.figures import Share, sector_group, shares
from shared.events.registry import OrganizationSnapshot
from shared.reference.territory import MACROZONE_IDS, REGION_CODES
from shared.reference.vocabulary import Sector, Theme

__all__ = [
    "DIMENSIONS",
    "NOT_WITHDRAWN",
    "BucketKey",
    "Dimension",
    "ProfileFacts",
    "ProfileQuery",
    "RegistryProfile",
    "Tally",
    "bucket_ids",
    "buckets_to_read",
    "profile_of",
]

Dimension = Literal[
    "sector",
    "sector_group",
    "legal_form",
    "macrozone",
    "region",
    "scope",
    "role",
    "theme",
    "trait",
    "links_with_others",
    "has_alliances",
]
DIMENSIONS: Final[tuple[Dimension, ...]] = (
    "sector",
    "sector_group",
    "legal_form",
    "macrozone",
    "region",
    "scope",
    "role",
    "theme",
    "trait",
    "links_with_others",
    "has_alliances",
)
NOT_WITHDRAWN: Final = ("pending", "active", "suspended")
_YES_NO = ("true", "false")
# Fixed vocabularies list every value, zero counts included; the others list what is there.
ORDERS: Final[Mapping[str, Sequence[str]]] = {
    "sector": [str(s) for s in Sector],
    "sector_group": ["privado", "publico", "academia", "organismo_internacional"],
    "macrozone": MACROZONE_IDS,
    "region": REGION_CODES,
    "theme": [str(t) for t in Theme],
    "links_with_others": _YES_NO,
    "has_alliances": _YES_NO,
}


@dataclass(frozen=True)
class ProfileFacts:
    """What the statistic needs of one organisation, from the public snapshot."""

    status: str
    call_id: str | None
    registered_on: date  # in UTC, as the registry's filters read `registered_at`
    values: Mapping[str, tuple[str, ...] | None]  # None: did not answer

    @classmethod
    def from_snapshot(cls, snapshot: OrganizationSnapshot) -> ProfileFacts:
        def yes_no(answer: bool | None) -> tuple[str, ...] | None:
            return None if answer is None else (("true",) if answer else ("false",))

        values: dict[str, tuple[str, ...] | None] = {
            "sector": (snapshot.sector,),
            "sector_group": (sector_group(snapshot.sector),),
            "legal_form": (snapshot.legal_form,),
            "macrozone": (snapshot.macrozone,),
            "region": tuple(snapshot.regions),
            "scope": (snapshot.scope,),
            "role": tuple(snapshot.roles),
            "theme": tuple(snapshot.themes),
            "trait": tuple(snapshot.traits),
            "links_with_others": yes_no(snapshot.links_with_others),
            "has_alliances": yes_no(snapshot.has_alliances),
        }
        return cls(
            status=snapshot.status,
            call_id=snapshot.call_id,
            registered_on=_utc_day(snapshot.registered_at),
            values=values,
        )

    def tally(self) -> Tally:
        tally = Tally(total=1)
        for dimension, values in self.values.items():
            if values is None:
                continue
            tally.answered[dimension] = 1
            tally.counts[dimension] = {value: 1 for value in set(values)}
        return tally


def _utc_day(moment: datetime) -> date:
    """Stored times come back naive in UTC; events carry aware ones."""
    return moment.date() if moment.tzinfo is None else moment.astimezone(UTC).date()


@dataclass
class Tally:
    """Organisations counted: in total, per value of each dimension, and who answered each."""

    total: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)

    def add(self, other: Tally, sign: int = 1) -> None:
        self.total += sign * other.total
        for dimension, n in other.answered.items():
            self.answered[dimension] = self.answered.get(dimension, 0) + sign * n
        for dimension, values in other.counts.items():
            mine = self.counts.setdefault(dimension, {})
            for value, n in values.items():
                mine[value] = mine.get(value, 0) + sign * n
                if mine[value] == 0:
                    del mine[value]

    @property
    def empty(self) -> bool:
        """Counts nothing: a sum whose terms cancel out is empty too."""
        return (
            self.total == 0
            and not any(n for values in self.counts.values() for n in values.values())
            and not any(self.answered.values())
        )

    def to_document(self) -> dict[str, object]:
        return {"total": self.total, "counts": self.counts, "answered": self.answered}

    @classmethod
    def from_document(cls, doc: Mapping[str, object]) -> Tally:
        counts = doc.get("counts") or {}
        answered = doc.get("answered") or {}
        assert isinstance(counts, dict) and isinstance(answered, dict)
        return cls(
            total=int(doc.get("total") or 0),  # type: ignore[call-overload]
            counts={d: {v: int(n) for v, n in values.items()} for d, values in counts.items()},
            answered={d: int(n) for d, n in answered.items()},
        )


@dataclass(frozen=True)
class BucketKey:
    """Which organisations a bucket counts: of a status, maybe of a call, maybe of a day."""

    status: str
    call_id: str | None = None
    day: date | None = None

    @property
    def id(self) -> str:
        parts = [f"s={self.status}"]
        if self.call_id is not None:
            parts.append(f"c={self.call_id}")
        if self.day is not None:
            parts.append(f"d={self.day.isoformat()}")
        return "|".join(parts)


def bucket_ids(facts: ProfileFacts) -> list[BucketKey]:
    """The buckets one organisation counts in."""
    status, call, day = facts.status, facts.call_id, facts.registered_on
    keys = [BucketKey(status), BucketKey(status, day=day)]
    if call is not None:
        keys += [BucketKey(status, call), BucketKey(status, call, day)]
    return keys


class ProfileQuery(BaseModel):
    by: Dimension
    statuses: Sequence[str] = NOT_WITHDRAWN
    call_id: str | None = None
    registered_from: date | None = None
    registered_to: date | None = None


def buckets_to_read(query: ProfileQuery) -> list[str] | None:
    """The ids of the all-time buckets whose sum answers `query`, or None when it has dates
    (then the day buckets in range are summed: `day_range`)."""
    if query.registered_from is not None or query.registered_to is not None:
        return None
    return [BucketKey(status, query.call_id).id for status in query.statuses]


class RegistryProfile(BaseModel):
    """`{total, by, answered, groups: [{key, count, percent}]}`."""

    total: int
    by: str
    answered: int
    groups: list[Share]


def profile_of(query: ProfileQuery, buckets: Iterable[Tally]) -> RegistryProfile:
    tally = Tally()
    for bucket in buckets:
        tally.add(bucket)
    answered = tally.answered.get(query.by, 0)
    counts = tally.counts.get(query.by, {})
    return RegistryProfile(
        total=tally.total,
        by=query.by,
        answered=answered,
        groups=shares(counts, answered, order=ORDERS.get(query.by)),
    )

"""Matching the needs organisations state at encuentros with other organisations' offers.

Pure logic (domain.md §8, contract ``GET /v1/matches``): no I/O, no clock, no randomness.

What is matched. An ``Answer`` is one organisation's needs and offers at one encuentro (the
``NeedsOffersStated`` event; one per organisation and encuentro, replaced on each PUT). A
*match* pairs one need category of organisation A at encuentro X with one offer category of
organisation B at encuentro Y when the offer serves the need (``CATEGORY_FIT``). X may equal Y:
matches run across encuentros and territories. A is never B, not even at another encuentro.
An organisation takes part only while its ``OrganizationProfile`` is known and ``active``;
answers of an organisation not (yet) known, pending, suspended or withdrawn are kept but match
nothing, and their matches come (back) when an active profile arrives.

Score, computed in hundredths so that it is exact and already rounded to 2 decimals:

====================  ======  =====================================================
component             points  when
====================  ======  =====================================================
category fit          1.00    always (required: no fit, no match)
same region           0.50    both work in a region (working regions + head office)
same macrozone        0.25    no shared region, but a shared macrozone
shared themes         0.10    per shared theme, at most 0.30; ``otro`` never counts
====================  ======  =====================================================

so a score lies between 1.00 and 1.80. Territory is an organisation's working regions plus its
head-office region, and the macrozones of those regions (plus any macrozone it states), the
same "works in" as the events service's invitations.

Reasons. ``Match.reasons`` is a tuple of ``Reason``: a machine-readable ``code``
(``category_fit``, ``same_region``, ``same_macrozone``, ``shared_themes``), the ``points`` it
adds, the identifiers it is about (``values``), and a Spanish ``text`` for people, e.g.
"La necesidad «difusion» se sirve con la oferta «plataformas»". Only what adds points is a
reason; a shared-themes reason names every shared theme even past the 0.30 cap. In JSON
(``Match.to_dict``) ``reasons`` is the list of texts, as the contract says, and
``reason_codes`` the parallel list of ``{code, points, values}``.

Incremental. ``MatchIndex`` keeps the records (answers, profiles) and finds the matches a
change touches through buckets of answers by need and by offer category: applying an answer,
removing one or applying a profile returns ``MatchChanges(added, withdrawn, rescored)``; a
profile change re-scores in ``rescored`` (same id, new score or reasons), never as a new
``added``. ``compute_matches`` is the from-scratch reference it must always agree with.

Identity. ``match_id`` is the first 128 bits (32 hex digits) of the SHA-256 of the JSON array
``[need org, need category, need encuentro, offer org, offer category, offer encuentro]``: the
same pair always gets the same id, so a match is announced once and withdrawn by id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from shared.events.encuentros import NeedsOffersStated
from shared.events.registry import OrganizationEvent, OrganizationSnapshot
from shared.reference.territory import MACROZONE_IDS, MACROZONES, REGION_CODES, REGIONS

__all__ = [
    "CATEGORY_FIT",
    "FIT_POINTS",
    "MACROZONE_POINTS",
    "MAX_THEME_POINTS",
    "NEEDS",
    "NEEDS_SERVED",
    "OFFERS",
    "REGION_POINTS",
    "THEME_POINTS",
    "Answer",
    "Match",
    "MatchSide",
    "OrganizationProfile",
    "Reason",
    "ReasonCode",
    "build_match",
    "compute_matches",
    "fits",
    "match_id",
]

# --- category fit (domain.md §8), with the contract's identifiers -------------------------------

NEEDS: Final[tuple[str, ...]] = (
    "articulacion_redes",
    "informacion_contactos_voluntariado",
    "vinculacion_territorial",
    "fortalecimiento",
    "incidencia_politicas",
    "difusion",
)

OFFERS: Final[tuple[str, ...]] = (
    "saberes_metodologias",
    "experiencias",
    "contactos",
    "tiempo_voluntariado",
    "redes_espacios",
    "plataformas",
    "aportes_materiales",
)

# need → the offers that serve it, in the order of domain.md's table
CATEGORY_FIT: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "articulacion_redes": ("redes_espacios", "contactos", "experiencias"),
        "informacion_contactos_voluntariado": ("contactos", "tiempo_voluntariado", "experiencias"),
        "vinculacion_territorial": ("redes_espacios", "contactos"),
        "fortalecimiento": ("aportes_materiales", "saberes_metodologias", "plataformas"),
        "incidencia_politicas": ("saberes_metodologias", "redes_espacios"),
        "difusion": ("plataformas", "redes_espacios"),
    }
)

# offer → the needs it serves (the table read the other way), in NEEDS order
NEEDS_SERVED: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {offer: tuple(need for need in NEEDS if offer in CATEGORY_FIT[need]) for offer in OFFERS}
)


def fits(need: str, offer: str) -> bool:
    """True when ``offer`` serves ``need``; unknown categories fit nothing."""
    return offer in CATEGORY_FIT.get(need, ())


# --- weights, in hundredths of a point ----------------------------------------------------------

FIT_POINTS: Final = 100
REGION_POINTS: Final = 50
MACROZONE_POINTS: Final = 25
THEME_POINTS: Final = 10
MAX_THEME_POINTS: Final = 30
NON_THEMES: Final[frozenset[str]] = frozenset({"otro"})  # "other" says nothing in common

ACTIVE: Final = "active"

# --- inputs -------------------------------------------------------------------------------------


def _record(data: object, record: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{record} record: not an object")
    return data


def _text(data: Mapping[str, Any], field: str, record: str) -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise ValueError(f"{record} record: {field} is not a string")
    return value


def _texts(data: Mapping[str, Any], field: str, record: str) -> frozenset[str]:
    value = data.get(field)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{record} record: {field} is not a list of strings")
    return frozenset(value)


def _as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (as MongoDB returns them), aware ones converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Answer:
    """One organisation's needs and offers at one encuentro, as it stated them at ``stated_at``.

    Categories are kept as given (sets of strings); unknown ones are kept but fit nothing.
    """

    organization_id: str
    encuentro_id: str
    needs: frozenset[str]
    offers: frozenset[str]
    stated_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", frozenset(self.needs))
        object.__setattr__(self, "offers", frozenset(self.offers))
        object.__setattr__(self, "stated_at", _as_utc(self.stated_at))

    @property
    def key(self) -> tuple[str, str]:
        """``(organization_id, encuentro_id)``: an organisation has one answer per encuentro."""
        return (self.organization_id, self.encuentro_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (categories sorted, ``stated_at`` ISO 8601 in UTC)."""
        return {
            "organization_id": self.organization_id,
            "encuentro_id": self.encuentro_id,
            "needs": sorted(self.needs),
            "offers": sorted(self.offers),
            "stated_at": self.stated_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        """The inverse of ``to_dict``; ``ValueError`` naming the field for a malformed record.
        ``stated_at`` may also be a ``datetime`` (as MongoDB returns one)."""
        data = _record(data, "answer")
        organization_id = _text(data, "organization_id", "answer")
        encuentro_id = _text(data, "encuentro_id", "answer")
        needs = _texts(data, "needs", "answer")
        offers = _texts(data, "offers", "answer")
        stated_at = data.get("stated_at")
        if isinstance(stated_at, str):
            try:
                stated_at = datetime.fromisoformat(stated_at)
            except ValueError:
                raise ValueError("answer record: stated_at is not an ISO 8601 time") from None
        if not isinstance(stated_at, datetime):
            raise ValueError("answer record: stated_at is not a time")
        return cls(organization_id, encuentro_id, needs, offers, stated_at)

    @classmethod
    def from_event(cls, event: NeedsOffersStated) -> Answer:
        return cls(
            organization_id=event.organization_id,
            encuentro_id=event.encuentro_id,
            needs=frozenset(event.needs),
            offers=frozenset(event.offers),
            stated_at=event.occurred_at,
        )


@dataclass(frozen=True, slots=True)
class OrganizationProfile:
    """What matching needs of an organisation: territory, themes and whether it takes part.

    ``macrozones`` always includes the macrozones of its head-office and working regions
    (unknown region codes give none); more may be given, e.g. the snapshot's ``macrozone``.
    """

    organization_id: str
    head_office_region: str
    regions: frozenset[str]
    themes: frozenset[str]
    active: bool = True
    macrozones: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        regions = frozenset(self.regions)
        derived = {
            REGIONS[code].macrozone
            for code in (*regions, self.head_office_region)
            if code in REGIONS
        }
        object.__setattr__(self, "regions", regions)
        object.__setattr__(self, "themes", frozenset(self.themes))
        object.__setattr__(self, "macrozones", frozenset(self.macrozones) | derived)

    @property
    def territory(self) -> frozenset[str]:
        """The regions it works in, its head-office region included."""
        return self.regions | {self.head_office_region}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (sets sorted)."""
        return {
            "organization_id": self.organization_id,
            "head_office_region": self.head_office_region,
            "regions": sorted(self.regions),
            "macrozones": sorted(self.macrozones),
            "themes": sorted(self.themes),
            "active": self.active,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OrganizationProfile:
        """The inverse of ``to_dict``; ``ValueError`` naming the field for a malformed record."""
        data = _record(data, "profile")
        active = data.get("active")
        if not isinstance(active, bool):
            raise ValueError("profile record: active is not a boolean")
        return cls(
            organization_id=_text(data, "organization_id", "profile"),
            head_office_region=_text(data, "head_office_region", "profile"),
            regions=_texts(data, "regions", "profile"),
            themes=_texts(data, "themes", "profile"),
            active=active,
            macrozones=_texts(data, "macrozones", "profile"),
        )

    @classmethod
    def from_snapshot(
        cls, organization_id: str, snapshot: OrganizationSnapshot
    ) -> OrganizationProfile:
        """Only an ``active`` organisation takes part (not pending, suspended or withdrawn)."""
        return cls(
            organization_id=organization_id,
            head_office_region=snapshot.head_office_region,
            regions=frozenset(snapshot.regions),
            themes=frozenset(snapshot.themes),
            active=snapshot.status == ACTIVE,
            macrozones=frozenset({snapshot.macrozone}),
        )

    @classmethod
    def from_event(cls, event: OrganizationEvent) -> OrganizationProfile:
        return cls.from_snapshot(event.organization_id, event.organization)


# --- matches ------------------------------------------------------------------------------------

ReasonCode = Literal["category_fit", "same_region", "same_macrozone", "shared_themes"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for a match: what it adds to the score, about which identifiers, in words."""

    code: ReasonCode
    points: float
    values: tuple[str, ...]
    text: str

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable part (the text goes to ``reasons``)."""
        return {"code": self.code, "points": self.points, "values": list(self.values)}


@dataclass(frozen=True, slots=True)
class MatchSide:
    """One side of a match: an organisation's need or offer category at one encuentro."""

    organization_id: str
    category: str
    encuentro_id: str

    def to_dict(self) -> dict[str, str]:
        return {
            "organization_id": self.organization_id,
            "category": self.category,
            "encuentro_id": self.encuentro_id,
        }


@dataclass(frozen=True, slots=True)
class Match:
    """A need matched with another organisation's offer, with its score and why."""

    match_id: str
    need: MatchSide
    offer: MatchSide
    score: float
    reasons: tuple[Reason, ...]

    @property
    def sort_key(self) -> tuple[str, str, str, str, str, str]:
        """The order every list of matches comes in: need side first, then offer side."""
        need, offer = self.need, self.offer
        return (
            need.organization_id,
            need.encuentro_id,
            need.category,
            offer.organization_id,
            offer.encuentro_id,
            offer.category,
        )

    def to_dict(self) -> dict[str, Any]:
        """The contract's shape plus ``match_id`` and ``reason_codes`` (parallel to reasons)."""
        return {
            "match_id": self.match_id,
            "need": self.need.to_dict(),
            "offer": self.offer.to_dict(),
            "score": self.score,
            "reasons": [reason.text for reason in self.reasons],
            "reason_codes": [reason.to_dict() for reason in self.reasons],
        }


def match_id(need: MatchSide, offer: MatchSide) -> str:
    """The stable id of the pair (see the module docstring)."""
    parts = [
        need.organization_id,
        need.category,
        need.encuentro_id,
        offer.organization_id,
        offer.category,
        offer.encuentro_id,
    ]
    encoded = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


def _spanish_list(items: list[str]) -> str:
    """``a``, ``a y b``, ``a, b y c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} y {items[-1]}"


def _region_order(code: str) -> tuple[int, str]:
    """North to south, unknown codes last (alphabetically)."""
    return (REGION_CODES.index(code), "") if code in REGIONS else (len(REGION_CODES), code)


def _macrozone_order(zone: str) -> tuple[int, str]:
    return (MACROZONE_IDS.index(zone), "") if zone in MACROZONES else (len(MACROZONE_IDS), zone)


def _region_label(code: str) -> str:
    region = REGIONS.get(code)
    return f"{region.name} ({code})" if region else code


def _macrozone_label(zone: str) -> str:
    macrozone = MACROZONES.get(zone)
    return f"{macrozone.name} ({zone})" if macrozone else zone


def _territory_reason(need: OrganizationProfile, offer: OrganizationProfile) -> Reason | None:
    regions = sorted(need.territory & offer.territory, key=_region_order)
    if regions:
        labels = [_region_label(code) for code in regions]
        where = "la región" if len(regions) == 1 else "las regiones"
        return Reason(
            code="same_region",
            points=REGION_POINTS / 100,
            values=tuple(regions),
            text=f"Ambas organizaciones trabajan en {where} {_spanish_list(labels)}",
        )
    zones = sorted(need.macrozones & offer.macrozones, key=_macrozone_order)
    if zones:
        labels = [_macrozone_label(zone) for zone in zones]
        where = "la macrozona" if len(zones) == 1 else "las macrozonas"
        return Reason(
            code="same_macrozone",
            points=MACROZONE_POINTS / 100,
            values=tuple(zones),
            text=f"Ambas organizaciones trabajan en {where} {_spanish_list(labels)}",
        )
    return None


def _themes_reason(need: OrganizationProfile, offer: OrganizationProfile) -> Reason | None:
    themes = sorted((need.themes & offer.themes) - NON_THEMES)
    if not themes:
        return None
    labels = [f"«{theme}»" for theme in themes]
    which = "el tema" if len(themes) == 1 else "los temas"
    return Reason(
        code="shared_themes",
        points=min(MAX_THEME_POINTS, THEME_POINTS * len(themes)) / 100,
        values=tuple(themes),
        text=f"Comparten {which} {_spanish_list(labels)}",
    )


def build_match(
    need: MatchSide,
    offer: MatchSide,
    need_profile: OrganizationProfile,
    offer_profile: OrganizationProfile,
) -> Match:
    """Score and explain one pair; ``ValueError`` if the categories do not fit or it is a
    self-match, or if a profile belongs to another organisation than its side."""
    if not fits(need.category, offer.category):
        raise ValueError(f"the offer {offer.category!r} does not serve {need.category!r}")
    if need.organization_id == offer.organization_id:
        raise ValueError("an organisation is never matched with itself")
    if (need_profile.organization_id, offer_profile.organization_id) != (
        need.organization_id,
        offer.organization_id,
    ):
        raise ValueError("each profile must be the one of its side's organisation")
    reasons = [
        Reason(
            code="category_fit",
            points=FIT_POINTS / 100,
            values=(need.category, offer.category),
            text=f"La necesidad «{need.category}» se sirve con la oferta «{offer.category}»",
        )
    ]
    for extra in (
        _territory_reason(need_profile, offer_profile),
        _themes_reason(need_profile, offer_profile),
    ):
        if extra is not None:
            reasons.append(extra)
    hundredths = sum(round(reason.points * 100) for reason in reasons)
    return Match(
        match_id=match_id(need, offer),
        need=need,
        offer=offer,
        score=hundredths / 100,
        reasons=tuple(reasons),
    )


def compute_matches(
    answers: Iterable[Answer], profiles: Iterable[OrganizationProfile]
) -> list[Match]:
    """Every match among ``answers``, from scratch (every pair of answers: quadratic).

    One answer per (organisation, encuentro) and one profile per organisation: a later one in
    the iterable replaces an earlier one. ``MatchIndex`` must always agree with this.
    """
    by_key = {answer.key: answer for answer in answers}
    known = {profile.organization_id: profile for profile in profiles}
    taking_part = [
        answer
        for answer in by_key.values()
        if (profile := known.get(answer.organization_id)) is not None and profile.active
    ]
    found: list[Match] = []
    for needing in taking_part:
        for offering in taking_part:
            if needing.organization_id == offering.organization_id:
                continue
            for need in needing.needs:
                for offer in offering.offers:
                    if fits(need, offer):
                        found.append(
                            build_match(
                                MatchSide(needing.organization_id, need, needing.encuentro_id),
                                MatchSide(offering.organization_id, offer, offering.encuentro_id),
                                known[needing.organization_id],
                                known[offering.organization_id],
                            )
                        )
    return sorted(found, key=lambda match: match.sort_key)

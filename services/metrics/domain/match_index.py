"""The incremental index of matches: answers and profiles in, the matches each change adds,
withdraws or rescores out (the scoring and the records are `matching`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from services.metrics.domain.matching import (
    CATEGORY_FIT,
    NEEDS_SERVED,
    Answer,
    Match,
    MatchSide,
    OrganizationProfile,
    build_match,
)

__all__ = ["MatchChanges", "MatchIndex"]


class MatchChanges(NamedTuple):
    """What one change to the index did to the set of matches, each list in match order.

    ``added``: new matches, to announce. ``withdrawn``: ids of matches that no longer hold.
    ``rescored``: matches still holding whose score or reasons changed (a profile changed), with
    their new score and reasons; never in ``added``.
    """

    added: list[Match]
    withdrawn: list[str]
    rescored: list[Match]

    @property
    def empty(self) -> bool:
        return not (self.added or self.withdrawn or self.rescored)


def _no_changes() -> MatchChanges:
    return MatchChanges([], [], [])


def _diff(before: Mapping[str, Match], after: Mapping[str, Match]) -> MatchChanges:
    def ordered(matches: Iterable[Match]) -> list[Match]:
        return sorted(matches, key=lambda match: match.sort_key)

    return MatchChanges(
        added=ordered(m for m_id, m in after.items() if m_id not in before),
        withdrawn=[
            m.match_id for m in ordered(m for m_id, m in before.items() if m_id not in after)
        ],
        rescored=ordered(m for m_id, m in after.items() if m_id in before and before[m_id] != m),
    )


AnswerKey = tuple[str, str]


class MatchIndex:
    """The matches of a set of answers and profiles, kept up to date one change at a time.

    State is records: one ``Answer`` per (organisation, encuentro) and one
    ``OrganizationProfile`` per organisation. Everything else is derived from them and rebuilt
    on load: answers by organisation and by encuentro, and two buckets, answers by need category
    and by offer category, holding only answers of organisations that take part (active). Matches
    themselves are not stored: they are a function of the records, so a change computes the
    matches it touches before and after and returns the difference. A new answer looks only at
    the buckets of the categories that fit its own (the offers serving each of its needs, the
    needs its offers serve), never at every answer; a profile change looks at the matches of
    that organisation's answers.

    Rules:

    * ``apply_answer``: a new answer adds its matches; a replacement (same organisation and
      encuentro) withdraws the matches that no longer hold and adds the new ones; matches that
      hold before and after (same id, same score) are neither withdrawn nor announced again. An
      answer older (``stated_at``) than the one held is stale and ignored, so a redelivered or
      out-of-order event changes nothing; one as recent replaces it. Applying the same answer
      twice changes nothing the second time.
    * ``remove_answer``: the answer is forgotten and its matches withdrawn.
    * ``apply_profile``: an organisation becoming inactive (pending, suspended, withdrawn)
      withdraws all its matches, keeping its answers; becoming active (or known for the first
      time) adds them; any other change re-scores its matches (``rescored``). The same profile
      twice changes nothing.

    Every list comes in match order (``Match.sort_key``), so the output is deterministic.
    """

    def __init__(self) -> None:
        self._answers: dict[AnswerKey, Answer] = {}
        self._profiles: dict[str, OrganizationProfile] = {}
        self._by_organization: dict[str, set[AnswerKey]] = {}
        self._by_encuentro: dict[str, set[AnswerKey]] = {}
        self._by_need: dict[str, set[AnswerKey]] = {}  # taking part only
        self._by_offer: dict[str, set[AnswerKey]] = {}  # taking part only

    @classmethod
    def from_records(
        cls, answers: Iterable[Answer], profiles: Iterable[OrganizationProfile]
    ) -> MatchIndex:
        """An index over these records (a later duplicate key replaces an earlier one)."""
        index = cls()
        for p in profiles:
            index._profiles[p.organization_id] = p
        for a in answers:
            if (old := index._answers.get(a.key)) is not None:
                index._unlink(old)
            index._answers[a.key] = a
            index._link(a)
        return index

    # --- records

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-able records: ``{"answers": [...], "profiles": [...]}``,
        each list in a stable order. Buckets are not part of it: ``from_dict`` rebuilds them.
        A store may as well keep each record as its own document (``Answer.to_dict``,
        ``OrganizationProfile.to_dict``) and load them with ``from_records``."""
        return {
            "answers": [a.to_dict() for a in self.answers()],
            "profiles": [p.to_dict() for p in self.profiles()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchIndex:
        """The inverse of ``to_dict``; ``ValueError`` for a malformed record."""
        answers, profiles = data.get("answers"), data.get("profiles")
        if not isinstance(answers, list) or not isinstance(profiles, list):
            raise ValueError("match index: answers and profiles must be lists of records")
        return cls.from_records(
            (Answer.from_dict(record) for record in answers),
            (OrganizationProfile.from_dict(record) for record in profiles),
        )

    # --- reading

    def answer(self, organization_id: str, encuentro_id: str) -> Answer | None:
        return self._answers.get((organization_id, encuentro_id))

    def answers(self) -> list[Answer]:
        """Every answer held, ordered by (organisation, encuentro)."""
        return [self._answers[key] for key in sorted(self._answers)]

    def profile(self, organization_id: str) -> OrganizationProfile | None:
        return self._profiles.get(organization_id)

    def profiles(self) -> list[OrganizationProfile]:
        """Every profile held, ordered by organisation id."""
        return [self._profiles[org] for org in sorted(self._profiles)]

    def takes_part(self, organization_id: str) -> bool:
        """Its profile is known and active."""
        known = self._profiles.get(organization_id)
        return known is not None and known.active

    def matches(
        self, organization_id: str | None = None, encuentro_id: str | None = None
    ) -> list[Match]:
        """Current matches in match order; filters keep those with the organisation (or the
        encuentro) on either side, and both filters together need both on one side."""
        if organization_id is not None:
            keys: Iterable[AnswerKey] = self._by_organization.get(organization_id, ())
        elif encuentro_id is not None:
            keys = self._by_encuentro.get(encuentro_id, ())
        else:
            keys = self._answers
        found: dict[str, Match] = {}
        for key in keys:
            if encuentro_id is not None and key[1] != encuentro_id:
                continue
            found.update(self._matches_of(key))
        return sorted(found.values(), key=lambda match: match.sort_key)

    # --- changing

    def apply_answer(self, answer: Answer) -> MatchChanges:
        """Add or replace one organisation's answer at one encuentro (rules in the class)."""
        old = self._answers.get(answer.key)
        if old is not None:
            if answer.stated_at < old.stated_at:
                return _no_changes()
            if (answer.needs, answer.offers) == (old.needs, old.offers):
                self._answers[answer.key] = answer  # same content, later time: no match changes
                return _no_changes()
        before = self._matches_of(answer.key) if old is not None else {}
        if old is not None:
            self._unlink(old)
        self._answers[answer.key] = answer
        self._link(answer)
        return _diff(before, self._matches_of(answer.key))

    def remove_answer(self, organization_id: str, encuentro_id: str) -> MatchChanges:
        """Forget one answer (e.g. its encuentro was cancelled) and withdraw its matches."""
        key = (organization_id, encuentro_id)
        old = self._answers.get(key)
        if old is None:
            return _no_changes()
        before = self._matches_of(key)
        self._unlink(old)
        del self._answers[key]
        return _diff(before, {})

    def apply_profile(self, profile: OrganizationProfile) -> MatchChanges:
        """Add or replace an organisation's profile (rules in the class)."""
        org = profile.organization_id
        if self._profiles.get(org) == profile:
            return _no_changes()
        keys = sorted(self._by_organization.get(org, ()))
        before = self._matches_of_all(keys)
        was = self.takes_part(org)
        self._profiles[org] = profile
        now = self.takes_part(org)
        if was != now:
            for key in keys:
                if now:
                    self._add_to_buckets(self._answers[key])
                else:
                    self._remove_from_buckets(self._answers[key])
        return _diff(before, self._matches_of_all(keys))

    # --- internals

    def _matches_of_all(self, keys: Iterable[AnswerKey]) -> dict[str, Match]:
        found: dict[str, Match] = {}
        for key in keys:
            found.update(self._matches_of(key))
        return found

    def _matches_of(self, key: AnswerKey) -> dict[str, Match]:
        """The matches one answer takes part in, on either side, looking only at the buckets of
        the categories that fit its own."""
        this = self._answers.get(key)
        if this is None or not self.takes_part(this.organization_id):
            return {}
        org = this.organization_id
        mine = self._profiles[org]
        found: dict[str, Match] = {}
        for need in this.needs:
            for offer in CATEGORY_FIT.get(need, ()):
                for other_key in self._by_offer.get(offer, ()):
                    if other_key[0] == org:
                        continue
                    match = build_match(
                        MatchSide(org, need, this.encuentro_id),
                        MatchSide(other_key[0], offer, other_key[1]),
                        mine,
                        self._profiles[other_key[0]],
                    )
                    found[match.match_id] = match
        for offer in this.offers:
            for need in NEEDS_SERVED.get(offer, ()):
                for other_key in self._by_need.get(need, ()):
                    if other_key[0] == org:
                        continue
                    match = build_match(
                        MatchSide(other_key[0], need, other_key[1]),
                        MatchSide(org, offer, this.encuentro_id),
                        self._profiles[other_key[0]],
                        mine,
                    )
                    found[match.match_id] = match
        return found

    def _link(self, answer: Answer) -> None:
        self._by_organization.setdefault(answer.organization_id, set()).add(answer.key)
        self._by_encuentro.setdefault(answer.encuentro_id, set()).add(answer.key)
        if self.takes_part(answer.organization_id):
            self._add_to_buckets(answer)

    def _unlink(self, answer: Answer) -> None:
        _discard(self._by_organization, answer.organization_id, answer.key)
        _discard(self._by_encuentro, answer.encuentro_id, answer.key)
        self._remove_from_buckets(answer)

    def _add_to_buckets(self, answer: Answer) -> None:
        for need in answer.needs:
            self._by_need.setdefault(need, set()).add(answer.key)
        for offer in answer.offers:
            self._by_offer.setdefault(offer, set()).add(answer.key)

    def _remove_from_buckets(self, answer: Answer) -> None:
        for need in answer.needs:
            _discard(self._by_need, need, answer.key)
        for offer in answer.offers:
            _discard(self._by_offer, offer, answer.key)


def _discard(index: dict[str, set[AnswerKey]], bucket: str, key: AnswerKey) -> None:
    """Remove ``key`` from a bucket, and the bucket once empty, so the index holds no husks."""
    keys = index.get(bucket)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[bucket]

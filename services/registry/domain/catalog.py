"""The catalogue: every organisation's queryable fields, held in memory by each registry process.

Why in memory: FerretDB 1.x answers any filter other than a bare ``_id`` by reading the whole
collection (about 0.7 ms per organisation document, so a minute per query at 100,000), and the
directory, the staff queue, duplicate warnings and counts all filter. A compact entry per
organisation (a few hundred bytes, plus the public profile's JSON when it is listed) answers
them in milliseconds on any database; full records are then read by ``_id``.

Entries carry the document's ``version``: an older version never replaces a newer one, so
the start-up load, this process's own writes and other processes' events can arrive in any
order. No I/O here; ``services/registry/storage/catalog.py`` loads and feeds it.
"""

from __future__ import annotations

import bisect
import itertools
import json
import sys
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, get_args

from services.registry.domain.directory import (
    MAX_SEARCH_WORDS,
    DirectoryPage,
    DirectoryQuery,
    decode_cursor,
    encode_cursor,
)
from services.registry.domain.duplicates import normalized_name, website_domain
from services.registry.domain.organization import Organization, OrganizationStatus
from services.registry.domain.text import normalize_text
from services.registry.domain.views import PublicProfile, public_view

__all__ = [
    "COUNTABLE",
    "DOCUMENT_FIELDS",
    "CatalogEntry",
    "CountableField",
    "OrganizationCatalog",
    "StaffFilter",
    "directory_page",
    "entry_from_document",
    "entry_of",
    "profile_of",
    "public_data",
]

# Fields staff can count by (GET /v1/staff/registrations/summary).
CountableField = Literal[
    "sector",
    "macrozone",
    "head_office_region",
    "scope",
    "legal_form",
    "roles",
    "themes",
    "regions",
    "links_with_others",
    "has_alliances",
    "traits",
    "status",
    "call_id",
]
COUNTABLE: Final = get_args(CountableField)
_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}


def _intern(values: Sequence[Any]) -> tuple[str, ...]:
    """One shared tuple per distinct list of codes: 100,000 entries, a few hundred tuples."""
    key = tuple(sys.intern(str(v)) for v in values)
    return _tuples.setdefault(key, key)


def _code(value: Any) -> str | None:
    return None if value is None else sys.intern(str(value))


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    id: str
    version: int
    status: str
    listed: bool
    sort_key: tuple[str, str]  # (normalised name, id): the directory's order, unique
    name_search: str
    name_key: str
    website_domain: str | None
    registered_at: datetime
    call_id: str | None
    sector: str | None
    macrozone: str | None
    head_office_region: str | None
    scope: str | None
    legal_form: str | None
    roles: tuple[str, ...]
    themes: tuple[str, ...]
    regions: tuple[str, ...]
    traits: tuple[str, ...]
    links_with_others: bool | None
    has_alliances: bool | None
    public_json: bytes | None  # the public profile, zlib-compressed JSON, only while listed

    def value_of(self, field: str) -> tuple[str, ...]:
        """The values a count by `field` sees (lists count once per element)."""
        value = getattr(self, field)
        if isinstance(value, tuple):
            return value
        if value is None:
            return ("sin_respuesta",)
        if isinstance(value, bool):
            return ("true" if value else "false",)
        return (str(value),)


def entry_of(org: Organization, version: int) -> CatalogEntry:
    """The entry of an organisation this process just saved at `version`."""
    return _entry(public_view(org), listed=org.listed, version=version)


# What the start-up load reads of each document (everything else stays in the database).
DOCUMENT_FIELDS: Final = (*PublicProfile.model_fields.keys() - {"id"}, "consent", "version")


def entry_from_document(doc: Mapping[str, Any]) -> CatalogEntry:
    """The entry straight from a stored document (projected to `DOCUMENT_FIELDS`): validates
    the public fields only, several times cheaper than the whole aggregate, which matters
    when loading 100,000 of them."""
    profile = PublicProfile.model_validate(
        {name: doc.get(name) for name in PublicProfile.model_fields if name != "id"}
        | {"id": doc["_id"]}
    )
    consent = doc.get("consent") or {}
    listed = profile.status == OrganizationStatus.ACTIVE and consent.get("publish_profile") is True
    return _entry(profile, listed=listed, version=int(doc.get("version", 1)))


def _entry(profile: PublicProfile, *, listed: bool, version: int) -> CatalogEntry:
    name_sort = normalize_text(profile.name)
    short = profile.short_name
    return CatalogEntry(
        id=profile.id,
        version=version,
        status=sys.intern(str(profile.status)),
        listed=listed,
        sort_key=(name_sort, profile.id),
        name_search=normalize_text(f"{profile.name} {short}") if short else name_sort,
        name_key=normalized_name(profile.name),
        website_domain=website_domain(profile.website),
        registered_at=profile.registered_at,
        call_id=profile.call_id,
        sector=_code(profile.sector),
        macrozone=_code(profile.macrozone),
        head_office_region=_code(profile.head_office_region),
        scope=_code(profile.scope),
        legal_form=_code(profile.legal_form),
        roles=_intern(profile.roles),
        themes=_intern(profile.themes),
        regions=_intern(profile.regions),
        traits=_intern(profile.traits),
        links_with_others=profile.links_with_others,
        has_alliances=profile.has_alliances,
        # Compressed: ~740 bytes of JSON become ~420; a page inflates 50 of them in < 1 ms.
        public_json=zlib.compress(profile.model_dump_json().encode()) if listed else None,
    )


@dataclass(frozen=True)
class StaffFilter:
    status: str | None = None
    call_id: str | None = None
    registered_from: datetime | None = None
    registered_to: datetime | None = None

    def matches(self, entry: CatalogEntry) -> bool:
        return (
            (self.status is None or entry.status == self.status)
            and (self.call_id is None or entry.call_id == self.call_id)
            and (self.registered_from is None or entry.registered_at >= self.registered_from)
            and (self.registered_to is None or entry.registered_at < self.registered_to)
        )


class OrganizationCatalog:
    def __init__(self) -> None:
        self._entries: dict[str, CatalogEntry] = {}
        self._listed: list[tuple[str, str]] = []  # sort keys of listed entries, in order
        # Lists, not sets: nearly every key has one organisation (64 bytes against 216).
        self._by_name_key: dict[str, list[str]] = {}
        self._by_domain: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, organization_id: str) -> CatalogEntry | None:
        return self._entries.get(organization_id)

    def upsert(self, entry: CatalogEntry) -> bool:
        """Keep `entry` unless a newer version is already held; True if it was kept."""
        old = self._entries.get(entry.id)
        if old is not None:
            if old.version >= entry.version:
                return False
            self._forget(old)
        self._entries[entry.id] = entry
        if entry.listed:
            bisect.insort(self._listed, entry.sort_key)
        self._by_name_key.setdefault(entry.name_key, []).append(entry.id)
        if entry.website_domain:
            self._by_domain.setdefault(entry.website_domain, []).append(entry.id)
        return True

    def _forget(self, entry: CatalogEntry) -> None:
        if entry.listed:
            i = bisect.bisect_left(self._listed, entry.sort_key)
            if i < len(self._listed) and self._listed[i] == entry.sort_key:
                del self._listed[i]
        for index, key in (
            (self._by_name_key, entry.name_key),
            (self._by_domain, entry.website_domain),
        ):
            if key is not None and entry.id in index.get(key, ()):
                index[key].remove(entry.id)
                if not index[key]:
                    del index[key]

    # --- the public directory --------------------------------------------------------------

    def directory(self, query: DirectoryQuery) -> Iterator[CatalogEntry]:
        """Listed entries matching every filter, after the cursor, in directory order.

        A bad cursor raises here, before the first row (a CSV response has not started yet).
        Walking the sorted list and testing each entry costs about a microsecond per entry
        passed over: a rare filter on 100,000 organisations takes ~0.1 s, a common one far less.
        The walk goes over a copy of the order (100,000 references: well under a millisecond),
        so a CSV export streamed from a worker thread is not disturbed by saves meanwhile: it
        skips what stopped being listed and shows each row as it is when reached.
        """
        start = 0
        if query.cursor is not None:
            start = bisect.bisect_right(self._listed, decode_cursor(query.cursor))
        words = normalize_text(query.q).split()[:MAX_SEARCH_WORDS] if query.q else []
        return self._walk(self._listed[start:], query, words)

    def _walk(
        self, order: list[tuple[str, str]], query: DirectoryQuery, words: list[str]
    ) -> Iterator[CatalogEntry]:
        for sort_key in order:
            entry = self._entries.get(sort_key[1])
            if entry is None or entry.public_json is None or entry.sort_key != sort_key:
                continue  # changed since the walk began: delisted, or renamed (moved)
            if (
                (query.macrozone is None or entry.macrozone == query.macrozone)
                and (query.region is None or query.region in entry.regions)
                and (query.theme is None or query.theme in entry.themes)
                and (query.role is None or query.role in entry.roles)
                and (query.sector is None or entry.sector == query.sector)
                and (query.scope is None or entry.scope == query.scope)
                and all(word in entry.name_search for word in words)
            ):
                yield entry

    # --- staff ------------------------------------------------------------------------------

    def staff_ids(self, where: StaffFilter, limit: int, offset: int) -> list[str]:
        """Ids in registration order (oldest first), the staff queue's order."""
        rows = sorted((e.registered_at, e.id) for e in self._entries.values() if where.matches(e))
        return [organization_id for _, organization_id in rows[offset : offset + limit]]

    def duplicate_ids(self, entry: CatalogEntry, limit: int = 20) -> list[str]:
        """Other organisations with the same normalised name or website domain."""
        ids = set(self._by_name_key.get(entry.name_key, ()))
        if entry.website_domain:
            ids.update(self._by_domain.get(entry.website_domain, ()))
        ids.discard(entry.id)
        return sorted(ids)[:limit]

    def count_by(self, where: StaffFilter, field: str) -> tuple[int, dict[str, int]]:
        """How many match, and how many per value of `field` (lists count once per element)."""
        if field not in COUNTABLE:
            raise ValueError(field)
        counts: Counter[str] = Counter()
        total = 0
        for entry in self._entries.values():
            if where.matches(entry):
                total += 1
                counts.update(entry.value_of(field))
        return total, dict(sorted(counts.items()))


def profile_of(entry: CatalogEntry) -> PublicProfile:
    """The public profile of a listed entry."""
    assert entry.public_json is not None, "only listed entries have a public profile"
    return PublicProfile.model_validate_json(zlib.decompress(entry.public_json))


def public_data(entry: CatalogEntry) -> dict[str, Any]:
    """The public profile of a listed entry as JSON data (what ``profile_of`` would dump)."""
    assert entry.public_json is not None, "only listed entries have a public profile"
    data: dict[str, Any] = json.loads(zlib.decompress(entry.public_json))
    return data


def directory_page(entries: Iterator[CatalogEntry], limit: int) -> DirectoryPage:
    """The first `limit` entries as a page; one more says whether there is a next page."""
    rows = list(itertools.islice(entries, limit + 1))
    page = rows[:limit]
    next_cursor = encode_cursor(*page[-1].sort_key) if len(rows) > limit and page else None
    return DirectoryPage(items=[profile_of(entry) for entry in page], next_cursor=next_cursor)

"""The notifier's feeds, rendered without a database: Atom read back with feedparser, JSON Feed
checked against version 1.1's required fields, stable ids, order, paging links, filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from pydantic import ValidationError

from services.notifier.api.feeds import FeedQuery
from services.notifier.domain.feeds import (
    AUTHOR_NAME,
    FEED_TITLE,
    JSON_FEED_VERSION,
    FeedMetadata,
    atom_feed,
    entry_id,
    json_feed,
)
from services.notifier.domain.items import (
    ItemFilter,
    ItemKind,
    PublishedItem,
    evidence_item,
)
from shared.events.metrics import EvidencePublished
from tests.harness.notifier import evidence_event

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8004/v1/feeds/evidence"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def evidence(evidence_id: str, published_at: datetime) -> EvidencePublished:
    return evidence_event(evidence_id=evidence_id, published_at=published_at)


def item(
    item_id: str,
    published_at: datetime,
    kind: ItemKind = ItemKind.ENCUENTRO_RESULTS,
    **fields: Any,
) -> PublishedItem:
    values: dict[str, Any] = {
        "title": f"Resultados {item_id}",
        "summary": "3 acuerdos por región",
        "url": f"http://127.0.0.1:8002/v1/encuentros/{item_id}",
        "themes": ("pobreza",),
        "regions": ("CL-AN", "CL-AT"),
        "macrozones": ("norte_centro",),
        "data": {"encuentro_id": item_id, "reason": None},
        **fields,
    }
    return PublishedItem(id=f"{kind}:{item_id}", kind=kind, published_at=published_at, **values)


ITEMS = [
    item("enc_old", T0 - timedelta(days=2)),
    evidence_item(evidence("ev_1", T0), "http://127.0.0.1:8003"),
    item(
        "com_1",
        T0 - timedelta(days=1),
        ItemKind.COMMITMENT_FULFILLED,
        themes=(),
        regions=("CL-MA",),
        macrozones=("sur_austral",),
    ),
]
NEWEST_FIRST = ["evidence:ev_1", "commitment_fulfilled:com_1", "encuentro_results:enc_old"]


def meta(next_url: str | None = None, path: str = ".atom") -> FeedMetadata:
    return FeedMetadata(
        feed_id=BASE + path,
        self_url=BASE + path + "?limit=3",
        next_url=next_url,
        updated=T0 + timedelta(days=30),
    )


def parsed(items: list[PublishedItem], next_url: str | None = None) -> Any:
    document = feedparser.parse(atom_feed(items, meta(next_url)))
    assert not document.bozo, document.get("bozo_exception")
    assert document.version == "atom10"
    return document


def test_atom_reads_back_with_every_entry_newest_first() -> None:
    document = parsed(ITEMS)
    assert document.feed.title == FEED_TITLE
    assert document.feed.id == BASE + ".atom"
    assert document.feed.author_detail == {"name": AUTHOR_NAME}
    assert document.feed.updated_parsed[:6] == T0.timetuple()[:6]  # the newest item's
    assert [e.id for e in document.entries] == [entry_id(i) for i in _by_id(NEWEST_FIRST)]
    first = document.entries[0]
    ev = ITEMS[1]
    assert first.title == ev.title and first.summary == ev.summary
    assert first.link == ev.url
    assert first.published == first.updated == "2026-03-02T12:00:00+00:00"
    assert {(t.scheme.rsplit(":", 1)[1], t.term) for t in first.tags} == {
        ("kind", "evidence"),
        ("theme", "educacion"),
        ("region", "CL-BI"),
        ("macrozone", "centro_sur"),
    }
    links = {link.rel: link.href for link in document.feed.links}
    assert links == {"self": BASE + ".atom?limit=3"}


def test_entry_ids_are_tag_uris_of_the_item_id_and_never_change() -> None:
    first = [e.id for e in parsed(ITEMS).entries]
    again = [e.id for e in parsed(list(reversed(ITEMS))).entries]
    alone = parsed([ITEMS[1]]).entries[0].id
    assert first == again and alone == first[0] == "tag:articula.cl,2025:evidence:ev_1"
    feed = json_feed(ITEMS, meta(path=".json"))
    assert [i["id"] for i in feed["items"]] == first


def test_next_link_only_when_there_is_a_next_page() -> None:
    later = BASE + ".atom?limit=3&cursor=3132-6162"
    links = {link.rel: link.href for link in parsed(ITEMS, later).feed.links}
    assert links["next"] == later
    assert "next" not in {link.rel for link in parsed(ITEMS).feed.links}
    assert json_feed(ITEMS, meta(later, ".json"))["next_url"] == later
    assert "next_url" not in json_feed(ITEMS, meta(path=".json"))


def test_an_empty_feed_is_still_a_valid_feed() -> None:
    document = parsed([])
    assert document.entries == [] and document.feed.title == FEED_TITLE
    assert json_feed([], meta(path=".json"))["items"] == []


def test_json_feed_has_version_1_1_fields_and_the_articula_extension() -> None:
    feed = json_feed(ITEMS, meta(path=".json"))
    assert feed["version"] == JSON_FEED_VERSION
    assert feed["title"] == FEED_TITLE and feed["feed_url"] == BASE + ".json?limit=3"
    assert feed["authors"] == [{"name": AUTHOR_NAME}]
    assert "home_page_url" not in feed
    assert feed["items"][0]["_articula"]["data"]["evidence_id"] == "ev_1"
    for entry in feed["items"]:
        # Required: id, and content_html or content_text; the rest as the brief lists.
        assert isinstance(entry["id"], str) and entry["id"]
        assert isinstance(entry["content_text"], str) and entry["content_text"]
        assert set(entry) == {
            "id",
            "url",
            "title",
            "content_text",
            "summary",
            "date_published",
            "tags",
            "_articula",
        }
        datetime.fromisoformat(entry["date_published"])
    first, second = feed["items"][:2]
    assert first["date_published"] > second["date_published"]
    assert first["tags"] == ["evidence", "educacion", "CL-BI", "centro_sur"]
    assert first["_articula"] == {
        "kind": "evidence",
        "themes": ["educacion"],
        "regions": ["CL-BI"],
        "macrozones": ["centro_sur"],
        "data": ITEMS[1].data,
    }
    assert second["_articula"]["themes"] == []
    assert feed["items"][2]["_articula"]["data"] == {"encuentro_id": "enc_old", "reason": None}


def test_no_email_address_in_either_feed() -> None:
    atom = atom_feed(ITEMS, meta()).decode()
    assert EMAIL.search(atom) is None and "<email>" not in atom
    assert EMAIL.search(str(json_feed(ITEMS, meta(path=".json")))) is None


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({}, NEWEST_FIRST),
        ({"theme": "educacion"}, ["evidence:ev_1"]),
        ({"theme": "pobreza"}, ["encuentro_results:enc_old"]),
        ({"region": "CL-AT"}, ["encuentro_results:enc_old"]),
        ({"macrozone": "sur_austral"}, ["commitment_fulfilled:com_1"]),
        ({"kind": "commitment_fulfilled"}, ["commitment_fulfilled:com_1"]),
        ({"kind": "evidence", "region": "CL-BI"}, ["evidence:ev_1"]),
        ({"kind": "evidence", "region": "CL-AN"}, []),
        ({"theme": "vivienda"}, []),
    ],
)
def test_the_query_is_one_value_per_filter_and_items_match_each(
    parameters: dict[str, str], expected: list[str]
) -> None:
    wanted = FeedQuery.model_validate(parameters).wanted()
    assert all(len(values) <= 1 for values in wanted.model_dump().values())
    assert [i.id for i in _by_id(NEWEST_FIRST) if wanted.matches(i)] == expected


def test_the_query_refuses_unknown_values_and_parameters() -> None:
    for bad in (
        {"theme": "astrologia"},
        {"region": "CL-XX"},
        {"macrozone": "centro"},
        {"kind": "ping"},
        {"limit": "0"},
        {"limit": "201"},
        {"cursor": "nope"},
        {"organization_id": "org_1"},
    ):
        with pytest.raises(ValidationError):
            FeedQuery.model_validate(bad)
    assert FeedQuery().wanted() == ItemFilter()


def test_page_links_keep_the_filters() -> None:
    query = FeedQuery.model_validate({"theme": "educacion", "kind": "evidence", "limit": "1"})
    assert query.parameters(paging=False) == {"theme": "educacion", "kind": "evidence"}
    assert query.parameters(paging=True, cursor="31-61") == {
        "theme": "educacion",
        "kind": "evidence",
        "limit": "1",
        "cursor": "31-61",
    }


def _by_id(ids: list[str]) -> list[PublishedItem]:
    known = {i.id: i for i in ITEMS}
    return [known[i] for i in ids]

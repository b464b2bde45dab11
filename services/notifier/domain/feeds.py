"""The feeds of what funders follow: Atom 1.0 (RFC 4287) and JSON Feed 1.1, pure rendering.

A page of `PublishedItem`s (newest first) and the feed's metadata become an Atom document or
a JSON Feed object. Each entry's id is a tag URI (RFC 4151) derived from the item's stable id,
so a reader never shows one item twice, whatever page or render it comes from. Pages link to
the next one (RFC 5005 `rel="next"`, JSON Feed `next_url`) only when there is one.

Nothing personal goes out: items carry organisation ids and figures only, and the only author
is "Articula", with no e-mail address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from services.notifier.domain.items import ItemKind, PublishedItem

__all__ = [
    "ATOM_MEDIA_TYPE",
    "AUTHOR_NAME",
    "FEED_TITLE",
    "JSON_FEED_MEDIA_TYPE",
    "JSON_FEED_VERSION",
    "ArticulaExtension",
    "FeedMetadata",
    "JsonFeed",
    "JsonFeedAuthor",
    "JsonFeedItem",
    "atom_feed",
    "category_scheme",
    "entry_id",
    "json_feed",
    "json_feed_model",
    "newest_first",
]

ATOM_MEDIA_TYPE: Final = "application/atom+xml"
JSON_FEED_MEDIA_TYPE: Final = "application/feed+json"
JSON_FEED_VERSION: Final = "https://jsonfeed.org/version/1.1"
FEED_TITLE: Final = "Articula · Evidencia de resultados"
FEED_DESCRIPTION: Final = (
    "Evidencia de resultados publicada, resultados de encuentros y compromisos cumplidos."
)
AUTHOR_NAME: Final = "Articula"
LANGUAGE: Final = "es"
# The tagging entity of every tag URI the feeds mint (RFC 4151): never change it, or every
# reader sees every entry again.
_TAG: Final = "tag:articula.cl,2025:"


class FeedMetadata(BaseModel):
    """What a page of a feed says about itself; the URLs are absolute."""

    model_config = ConfigDict(frozen=True)

    feed_id: str  # the feed's own stable id (the same on every page)
    self_url: str  # this page
    home_page_url: str | None = None  # a web page the feed is about, if there is one
    next_url: str | None = None  # the next page, when there is one
    # The feed's `updated` when it has no items (else its newest item's `published_at`).
    updated: datetime
    title: str = FEED_TITLE
    description: str = FEED_DESCRIPTION


def entry_id(item: PublishedItem) -> str:
    """The entry's id in both feeds: a tag URI of the item's stable id."""
    return _TAG + quote(item.id, safe=":")


def category_scheme(field: str) -> str:
    """The Atom category scheme of `kind`, `theme`, `region` or `macrozone`."""
    return f"{_TAG}{field}"


def newest_first(items: Iterable[PublishedItem]) -> list[PublishedItem]:
    """The feeds' order (the repository's): `published_at`, then id, descending."""
    return sorted(items, key=lambda item: (item.published_at, item.id), reverse=True)


def _categories(item: PublishedItem) -> list[tuple[str, str]]:
    return [
        ("kind", str(item.kind)),
        *(("theme", theme) for theme in item.themes),
        *(("region", region) for region in item.regions),
        *(("macrozone", macrozone) for macrozone in item.macrozones),
    ]


def _updated(items: Sequence[PublishedItem], meta: FeedMetadata) -> datetime:
    return max((item.published_at for item in items), default=meta.updated)


# --- Atom ---------------------------------------------------------------------------------------


def atom_feed(items: Iterable[PublishedItem], meta: FeedMetadata) -> bytes:
    """The page as an Atom 1.0 document (UTF-8), entries newest first."""
    ordered = newest_first(items)
    feed = FeedGenerator()
    feed.id(meta.feed_id)
    feed.title(meta.title)
    feed.subtitle(meta.description)
    feed.language(LANGUAGE)
    feed.author({"name": AUTHOR_NAME})
    feed.generator(AUTHOR_NAME)
    feed.updated(_updated(ordered, meta))
    feed.link(href=meta.self_url, rel="self", type=ATOM_MEDIA_TYPE)
    if meta.home_page_url is not None:
        feed.link(href=meta.home_page_url, rel="alternate", type="text/html")
    if meta.next_url is not None:
        feed.link(href=meta.next_url, rel="next", type=ATOM_MEDIA_TYPE)
    for item in ordered:
        entry = feed.add_entry(order="append")
        entry.id(entry_id(item))
        entry.title(item.title)
        entry.summary(item.summary)
        entry.link(href=item.url, rel="alternate")
        entry.published(item.published_at)
        entry.updated(item.published_at)
        for field, term in _categories(item):
            entry.category(term=term, scheme=category_scheme(field))
    document: bytes = feed.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return document


# --- JSON Feed ----------------------------------------------------------------------------------


class JsonFeedAuthor(BaseModel):
    name: str


class ArticulaExtension(BaseModel):
    """The item's filters and public data, as a webhook carries them (`_articula`)."""

    kind: ItemKind
    themes: list[str]
    regions: list[str]
    macrozones: list[str]
    data: dict[str, Any] = Field(description="Los datos públicos del ítem (los del webhook).")


class JsonFeedItem(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    url: str
    title: str
    content_text: str
    summary: str
    date_published: datetime
    tags: list[str]
    articula: ArticulaExtension = Field(alias="_articula")


# Left out when there is none (JSON Feed: a string when present).
_OptionalUrl = Annotated[str | None, WithJsonSchema({"type": "string", "format": "uri"})]
_LEFT_OUT_WHEN_NONE: Final = ("home_page_url", "next_url")


class JsonFeed(BaseModel):
    """A page of the feed as JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""

    model_config = ConfigDict(title="JsonFeed")

    version: Literal["https://jsonfeed.org/version/1.1"] = JSON_FEED_VERSION
    title: str
    home_page_url: _OptionalUrl = None
    feed_url: str
    description: str
    language: str = LANGUAGE
    authors: list[JsonFeedAuthor]
    next_url: _OptionalUrl = None
    items: list[JsonFeedItem]


def json_feed_model(items: Iterable[PublishedItem], meta: FeedMetadata) -> JsonFeed:
    return JsonFeed(
        title=meta.title,
        home_page_url=meta.home_page_url,
        feed_url=meta.self_url,
        description=meta.description,
        authors=[JsonFeedAuthor(name=AUTHOR_NAME)],
        next_url=meta.next_url,
        items=[
            JsonFeedItem(
                id=entry_id(item),
                url=item.url,
                title=item.title,
                content_text=item.summary,
                summary=item.summary,
                date_published=item.published_at,
                tags=[term for _, term in _categories(item)],
                articula=ArticulaExtension(
                    kind=item.kind,
                    themes=list(item.themes),
                    regions=list(item.regions),
                    macrozones=list(item.macrozones),
                    data=item.data,
                ),
            )
            for item in newest_first(items)
        ],
    )


def json_feed(items: Iterable[PublishedItem], meta: FeedMetadata) -> dict[str, Any]:
    """The page as a JSON Feed 1.1 object, items newest first; `next_url` only when there is
    a next page (and `home_page_url` only when there is one)."""
    document = json_feed_model(items, meta).model_dump(mode="json", by_alias=True)
    for key in _LEFT_OUT_WHEN_NONE:
        if document[key] is None:
            del document[key]
    return document

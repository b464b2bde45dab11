"""The public feeds of what funders follow: Atom 1.0 and JSON Feed 1.1 of published evidence,
encuentro results and fulfilled commitments, newest first, for anyone.

A request follows one theme, region, macrozone and kind at most (each optional); an item is in
the feed when it has each one asked for (the contract's matching rule, with single values).
Pages are the lists' cursor pages: `limit` and `cursor`, and a link to the next page (RFC 5005
`rel="next"` in Atom, `next_url` in JSON Feed) only when there is one. Links use the
notifier's `public_url`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.notifier.api.deps import Settings, UoW, now
from services.notifier.domain.feeds import (
    ATOM_MEDIA_TYPE,
    JSON_FEED_MEDIA_TYPE,
    FeedMetadata,
    JsonFeed,
    atom_feed,
    json_feed,
)
from services.notifier.domain.items import ItemFilter, ItemKind, PublishedItem
from shared.cursors import NumberedCursor, decode_instant, encode_instant
from shared.problems import problem_responses
from shared.reference.vocabulary import Theme
from shared.values import MacrozoneId, RegionCode

router = APIRouter(prefix="/v1", tags=["feeds"])

ATOM_PATH: Final = "/v1/feeds/evidence.atom"
JSON_PATH: Final = "/v1/feeds/evidence.json"
DEFAULT_LIMIT: Final = 50


class FeedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    theme: Theme | None = None
    region: RegionCode | None = None
    macrozone: MacrozoneId | None = None
    kind: ItemKind | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=200)
    cursor: NumberedCursor | None = None

    def wanted(self) -> ItemFilter:
        return ItemFilter(
            kinds=(self.kind,) if self.kind else (),
            themes=(str(self.theme),) if self.theme else (),
            regions=(self.region,) if self.region else (),
            macrozones=(self.macrozone,) if self.macrozone else (),
        )

    def parameters(self, *, paging: bool, cursor: str | None = None) -> dict[str, str]:
        """The query string's parameters: the filters, and with `paging` the limit (when not
        the default) and `cursor`."""
        values: dict[str, str] = {}
        for name in ("theme", "region", "macrozone", "kind"):
            value = getattr(self, name)
            if value is not None:
                values[name] = str(value)
        if paging:
            if self.limit != DEFAULT_LIMIT:
                values["limit"] = str(self.limit)
            if cursor is not None:
                values["cursor"] = cursor
        return values


class FeedJSONResponse(JSONResponse):
    media_type = JSON_FEED_MEDIA_TYPE


def _url(base: str, path: str, parameters: dict[str, str]) -> str:
    query = urlencode(parameters)
    return f"{base.rstrip('/')}{path}" + (f"?{query}" if query else "")


async def _page(
    query: FeedQuery, uow: UoW, public_url: str, path: str, moment: datetime
) -> tuple[list[PublishedItem], FeedMetadata]:
    # Newest first: a cursor past the last instant there is comes before every row.
    before = decode_instant(query.cursor) if query.cursor is not None else None
    rows = await uow.feed_items.page(query.wanted(), before, query.limit + 1)
    page = rows[: query.limit]
    next_url = None
    if len(rows) > query.limit and page:
        next_cursor = encode_instant(page[-1].published_at, page[-1].id)
        next_url = _url(public_url, path, query.parameters(paging=True, cursor=next_cursor))
    meta = FeedMetadata(
        feed_id=_url(public_url, path, query.parameters(paging=False)),
        self_url=_url(public_url, path, query.parameters(paging=True, cursor=query.cursor)),
        next_url=next_url,
        updated=moment,
    )
    return page, meta


_ATOM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'Un documento Atom 1.0 (RFC 4287); `rel="next"` a la página siguiente.',
        "content": {ATOM_MEDIA_TYPE: {"schema": {"type": "string"}}},
    }
}
_JSON_FEED_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Un JSON Feed 1.1; `next_url` a la página siguiente, si la hay.",
        "model": JsonFeed,
        "content": {JSON_FEED_MEDIA_TYPE: {}},
    }
}


@router.get(
    "/feeds/evidence.atom",
    summary="Feed Atom de la evidencia publicada, resultados y compromisos cumplidos",
    response_class=Response,
    responses={**_ATOM_RESPONSE, **problem_responses(422)},
)
async def atom(query: Annotated[FeedQuery, Query()], uow: UoW, settings: Settings) -> Response:
    items, meta = await _page(query, uow, settings.public_url, ATOM_PATH, now())
    return Response(atom_feed(items, meta), media_type=ATOM_MEDIA_TYPE)


@router.get(
    "/feeds/evidence.json",
    summary="JSON Feed de la evidencia publicada, resultados y compromisos cumplidos",
    response_class=FeedJSONResponse,
    responses={**_JSON_FEED_RESPONSE, **problem_responses(422)},
)
async def json(
    query: Annotated[FeedQuery, Query()], uow: UoW, settings: Settings
) -> FeedJSONResponse:
    items, meta = await _page(query, uow, settings.public_url, JSON_PATH, now())
    return FeedJSONResponse(json_feed(items, meta))

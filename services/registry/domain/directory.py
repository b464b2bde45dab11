"""The public directory: query model, cursor and CSV (the catalogue, ``catalog.py``, answers).

Text search matches every word of the normalised query (no accents, lower case) inside the
normalised name and short name. The order is (normalised name, id), paged by the shared cursor
(`shared.pagination`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.registry.domain.profile import (
    MacrozoneId,
    RegionCode,
    Role,
    Scope,
    Sector,
    Theme,
)
from services.registry.domain.views import PublicProfile
from shared.pagination import Cursor, decode_cursor, encode_cursor

__all__ = [
    "CSV_COLUMNS",
    "MAX_SEARCH_WORDS",
    "DirectoryPage",
    "DirectoryQuery",
    "decode_cursor",
    "directory_csv",
    "encode_cursor",
    "iter_csv",
]

MAX_SEARCH_WORDS: Final = 6


class DirectoryQuery(BaseModel):
    """Query parameters of ``GET /v1/organizations``; filters combine with AND."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    macrozone: MacrozoneId | None = None
    region: RegionCode | None = None
    theme: Theme | None = None
    role: Role | None = None
    sector: Sector | None = None
    scope: Scope | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Busca en el nombre y el nombre corto, sin tildes."
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Cursor | None = None
    format: Literal["json", "csv"] = "json"


class DirectoryPage(BaseModel):
    items: list[PublicProfile]
    next_cursor: str | None


# --- CSV --------------------------------------------------------------------------------------

CSV_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "rut",
    "name",
    "short_name",
    "sector",
    "legal_form",
    "head_office_region",
    "macrozone",
    "regions",
    "comunas",
    "scope",
    "roles",
    "themes",
    "links_with_others",
    "has_alliances",
    "traits",
    "website",
    "description",
    "year_founded",
    "verified",
    "registered_at",
    "call_id",
)
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """Lists joined by ';', booleans true/false, null empty; text that a spreadsheet would run
    as a formula gets a leading apostrophe (OWASP CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def iter_csv(
    profiles: Iterable[PublicProfile | Mapping[str, Any]], *, header: bool = True
) -> Iterator[str]:
    """CSV lines (RFC 4180, CRLF) in ``CSV_COLUMNS`` order, for streaming responses.

    Rows are public profiles, or their JSON form (``model_dump(mode="json")``), which the
    catalogue already holds: skipping the model saves most of a 100,000-row export's time.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush(row: Sequence[str]) -> str:
        writer.writerow(row)
        line = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return line

    if header:
        yield flush(CSV_COLUMNS)
    for profile in profiles:
        data = profile if isinstance(profile, Mapping) else profile.model_dump(mode="json")
        yield flush([_cell(data[column]) for column in CSV_COLUMNS])


def directory_csv(profiles: Iterable[PublicProfile]) -> str:
    """The whole CSV as text; encode as UTF-8 (``text/csv; charset=utf-8``)."""
    return "".join(iter_csv(profiles))

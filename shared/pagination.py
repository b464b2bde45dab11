"""Cursor pagination as every list of the system answers it: `cursor`, `limit`, `next_cursor`.

A list is in an order that is unique (a sort key and an id), so pages never repeat or skip a
row, and the cursor is the last row's pair, opaque to clients: the UTF-8 bytes of each, in
hexadecimal, joined by a hyphen. Any text of that form is a position in the order (bytes that
are not UTF-8 read as U+FFFD), so the document's `pattern` for `cursor` is exactly what a list
accepts; anything else is refused with 422.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Generic, TypeVar

from pydantic import BaseModel, StringConstraints, WithJsonSchema

from shared.errors import InvalidInput

__all__ = [
    "CURSOR_MAX_LENGTH",
    "CURSOR_PATTERN",
    "Cursor",
    "InvalidCursor",
    "Page",
    "decode_cursor",
    "encode_cursor",
]

# The sort key and the id, each as UTF-8 bytes in hexadecimal (the id never empty).
CURSOR_PATTERN: Final = r"^(?:[0-9a-f]{2})*-(?:[0-9a-f]{2})+$"
# A real cursor is at most ~1,700 characters (a 200-character name, 4 bytes each at worst,
# and the id). The limit keeps any query the document allows, even one of 4-byte characters
# percent-encoded (12 bytes each), within what the HTTP server parses (a 98 KB URL got the
# server's own plain-text 400 instead of the list's 422: schemathesis found it).
CURSOR_MAX_LENGTH: Final = 2048
_CURSOR = re.compile(CURSOR_PATTERN)
_BAD_CURSOR = "El cursor no es válido; use el valor next_cursor de la respuesta anterior."

T = TypeVar("T")


class InvalidCursor(InvalidInput):
    pass


# The `cursor` query parameter of every list.
Cursor = Annotated[
    str,
    StringConstraints(max_length=CURSOR_MAX_LENGTH),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": CURSOR_MAX_LENGTH,
            "pattern": CURSOR_PATTERN,
            "description": "El valor next_cursor de la página anterior.",
        }
    ),
]


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is null on the last one."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(sort_key: str, item_id: str) -> str:
    return "-".join(part.encode("utf-8", "surrogatepass").hex() for part in (sort_key, item_id))


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (sort key, id) a cursor points after; `InvalidCursor` for anything else."""
    if _CURSOR.fullmatch(cursor) is None:
        raise InvalidCursor(_BAD_CURSOR, errors=[{"field": "cursor", "message": _BAD_CURSOR}])
    sort_key, _, item_id = cursor.partition("-")
    return _text(sort_key), _text(item_id)


def _text(hexadecimal: str) -> str:
    return bytes.fromhex(hexadecimal).decode("utf-8", errors="replace")

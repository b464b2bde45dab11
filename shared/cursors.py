"""The cursors of lists whose order is a number: an instant (encuentros by start, commitments
and programmes by creation, evidence by publication) or an order of arrival (registrations).

They are `shared.pagination` cursors (the last row's sort key and id, each as UTF-8 in
hexadecimal) whose sort key is written in decimal digits: an instant as the microseconds since
0001-01-01T00:00:00Z, which orders like the instant itself. So the document's `pattern` for these
lists (hexadecimal of digits, a hyphen, hexadecimal of the id) is exactly what they accept, as
the shared cursor's pattern is for the registry's lists: any text of that form is a position in
the order, a number beyond the last instant there is included (in an ascending list the page
after it is empty, in a descending one it is the first page).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from pydantic import StringConstraints, WithJsonSchema

from shared.pagination import CURSOR_MAX_LENGTH, decode_cursor, encode_cursor

__all__ = [
    "NUMBERED_CURSOR_PATTERN",
    "NumberedCursor",
    "decode_instant",
    "decode_number",
    "encode_instant",
    "encode_number",
]

# The sort key: decimal digits (each "3x" in hexadecimal); the id: any non-empty UTF-8.
NUMBERED_CURSOR_PATTERN: Final = r"^(?:3[0-9])+-(?:[0-9a-f]{2})+$"
_ORIGIN: Final = datetime(1, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

# The `cursor` query parameter of these lists.
NumberedCursor = Annotated[
    str,
    StringConstraints(max_length=CURSOR_MAX_LENGTH, pattern=NUMBERED_CURSOR_PATTERN),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": CURSOR_MAX_LENGTH,
            "pattern": NUMBERED_CURSOR_PATTERN,
            "description": "El valor next_cursor de la página anterior.",
        }
    ),
]


def encode_number(number: int, item_id: str) -> str:
    return encode_cursor(str(number), item_id)


def decode_number(cursor: str) -> tuple[int, str]:
    """The (number, id) a cursor of the pattern points after."""
    number, item_id = decode_cursor(cursor)
    return int(number), item_id


def encode_instant(moment: datetime, item_id: str) -> str:
    return encode_number((moment - _ORIGIN) // _MICROSECOND, item_id)


def decode_instant(cursor: str) -> tuple[datetime, str] | None:
    """The (instant, id) a cursor of the pattern points after; None when its instant is later
    than any there can be (nothing comes after it)."""
    microseconds, item_id = decode_number(cursor)
    try:
        return _ORIGIN + microseconds * _MICROSECOND, item_id
    except OverflowError:
        return None

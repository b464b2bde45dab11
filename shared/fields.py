"""Request fields whose OpenAPI schema says exactly what their validation accepts.

A client (or a generator such as schemathesis) that reads `maxLength: 200` and `minLength: 2`
expects every such string to be accepted; a validator that first trims spaces, or refuses
control characters, accepts something else. These types validate in a way a JSON Schema can
state, and state it:

* a text, ``Annotated[str, StringConstraints(max_length=M), trimmed(m), WithJsonSchema(
  text_schema(m, M))]``: the length limit counts what is sent; the minimum counts what remains
  once the spaces around it are trimmed (and the trimmed text is what is kept); control
  characters are refused inside the text (multi-line text allows line breaks and tabs). The
  schema is `maxLength` plus a `pattern` for the rest.
* an optional text, ``Annotated[Text | None, BLANK_TO_NONE, or_blank(schema)]``: the same
  text, a blank one (only spaces), which means "not given", or null.
* `NOT_NULL`: for ``Annotated[X | None, NOT_NULL] = None`` in a partial change, where
  leaving the field out keeps it and null is refused: the schema is X's, without null.
* `json_number` (a `BeforeValidator` for an `int` field): a JSON integer (`2004`, or
  `2004.0`, which JSON Schema counts as one); not a string of digits nor a boolean, which
  pydantic would also read. Put it after the field's constraints, or they leave the schema.
* `Timestamp`: an RFC 3339 date-time with its offset, which is what `format: date-time`
  means; numbers (Unix times) and other spellings pydantic would also read are refused. The
  year is between 2 and 9998, so that the instant exists in UTC whatever its offset (a
  `pattern` says so).

Whitespace is Python's (`str.isspace`, what `str.strip()` removes); patterns are written with
`\\uXXXX` escapes that ECMA 262, Python and Rust regular expressions read alike.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "BLANK_PATTERN",
    "BLANK_TO_NONE",
    "CONTROL",
    "NOT_NULL",
    "SPACE",
    "WHITESPACE",
    "YEAR_PATTERN",
    "Day",
    "Timestamp",
    "json_number",
    "or_blank",
    "refuse_null",
    "text_pattern",
    "text_schema",
    "trimmed",
]

# What `str.strip()` removes: the characters for which `str.isspace()` is true.
WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Regex classes (bodies, without brackets).
SPACE: Final = (
    r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000"
)
CONTROL: Final = r"\u0000-\u001f\u007f-\u009f"  # Unicode category Cc
_NOT_SPACE_NOR_CONTROL = (
    r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
BLANK_PATTERN: Final = f"^[{SPACE}]*$"

_SINGLE_LINE_ERROR = "No debe contener saltos de línea ni caracteres de control."
_MULTI_LINE_ERROR = "No debe contener caracteres de control."


def text_pattern(min_length: int, *, multiline: bool = False, controls: bool = False) -> str:
    """The pattern of a text with at least `min_length` characters once trimmed; inside it,
    no control characters (unless `controls`), line breaks and tabs allowed if `multiline`."""
    if controls:
        inner, edge = r"[\s\S]", f"[^{SPACE}]"
    elif multiline:
        inner = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]"
        edge = f"[^{_NOT_SPACE_NOR_CONTROL}]"
    else:
        inner, edge = f"[^{CONTROL}]", f"[^{_NOT_SPACE_NOR_CONTROL}]"
    if min_length <= 1:
        body = (
            f"{edge}(?:{inner}*{edge})?" if min_length == 1 else f"(?:{edge}(?:{inner}*{edge})?)?"
        )
    else:
        middle = "*" if min_length == 2 else f"{{{min_length - 2},}}"
        body = f"{edge}{inner}{middle}{edge}"
    return f"^[{SPACE}]*{body}[{SPACE}]*$"


def text_schema(
    min_length: int, max_length: int, *, multiline: bool = False, controls: bool = False
) -> dict[str, Any]:
    """The JSON Schema of a text validated by `StringConstraints(max_length=…)` and
    `trimmed(min_length, …)`."""
    return {
        "type": "string",
        "maxLength": max_length,
        "pattern": text_pattern(min_length, multiline=multiline, controls=controls),
    }


def trimmed(min_length: int, *, multiline: bool = False, controls: bool = False) -> AfterValidator:
    """Trim the text, then require `min_length` characters and refuse control characters."""
    allowed = "\t\n\r" if multiline else ""

    def check(value: str) -> str:
        value = value.strip()
        if len(value) < min_length:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} characters",
                {"min_length": min_length},
            )
        if not controls and any(_is_control(c) and c not in allowed for c in value):
            raise ValueError(_MULTI_LINE_ERROR if multiline else _SINGLE_LINE_ERROR)
        return value

    return AfterValidator(check)


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _blank_to_none(value: Any) -> Any:
    """An optional text sent blank means "not given", not a too-short value."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


# For `Annotated[SomeText | None, BLANK_TO_NONE, or_blank(its schema)]`.
BLANK_TO_NONE: Final = BeforeValidator(_blank_to_none)


def or_blank(schema: dict[str, Any]) -> WithJsonSchema:
    """The schema of an optional text: `schema`, a blank text ("not given") or null."""
    blank = {"type": "string", "pattern": BLANK_PATTERN}
    return WithJsonSchema({"anyOf": [schema, blank, {"type": "null"}]})


def _not_nullable(schema: dict[str, Any]) -> None:
    branches = schema.pop("anyOf", None)
    schema.pop("default", None)
    if branches is None:
        return
    kept = [branch for branch in branches if branch != {"type": "null"}]
    if len(kept) == 1:
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept


# A field a partial change may leave out but not set to null (`refuse_null` refuses it).
NOT_NULL: Final[Any] = Field(json_schema_extra=_not_nullable)


def refuse_null(value: Any) -> Any:
    """For a "before" validator of the `NOT_NULL` fields of a partial change."""
    if value is None:
        raise ValueError("Este campo no puede quedar vacío (null).")
    return value


def json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,
)
_NO_OFFSET = "Debe incluir la zona horaria, por ejemplo 2026-09-01T09:00:00-03:00."
_NOT_RFC3339 = "Debe ser una fecha y hora ISO 8601 (p. ej. 2026-09-01T09:00:00-03:00)."
_FIRST_YEAR, _LAST_YEAR = 2, 9998  # 0001-01-01T00:00+01:00 is before the first instant in UTC
_OUT_OF_RANGE = f"El año debe estar entre {_FIRST_YEAR} y {_LAST_YEAR}."
YEAR_PATTERN: Final = (
    r"^(?:000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
)


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(_NO_OFFSET)
        year = value.year
    else:
        match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(_NOT_RFC3339)
        if match.group("offset") is None:
            raise ValueError(_NO_OFFSET)
        year = int(value[:4])
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise ValueError(_OUT_OF_RANGE)
    return value


# An instant with its offset, as RFC 3339 writes it (`2026-09-01T09:00:00-03:00`).
Timestamp = Annotated[
    datetime,
    BeforeValidator(_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}),
]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_NOT_A_DAY = "Debe ser una fecha AAAA-MM-DD (p. ej. 2026-09-23)."


def _iso_day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        raise ValueError(_NOT_A_DAY)
    return value


# A calendar day as `YYYY-MM-DD`, what `format: date` means; numbers (Unix times) and other
# spellings pydantic would also read are refused.
Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
]

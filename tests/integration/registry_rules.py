"""Schemathesis hooks: the registry's rules that its OpenAPI document can only state in prose.

JSON Schema cannot compare two fields, compute a check digit or see the stored record, so the
document describes these rules and this module teaches them to schemathesis' generator (a
`map_case` hook; `schemathesis.toml` loads it for `schemathesis run`, the suite imports it):

* a RUT's check digit (module 11): a RUT of the documented form gets its right digit;
* comunas lie in the listed regions or the head office's: the comunas' regions are listed;
* in a PATCH the same rule holds for the merged profile: regions sent without comunas come
  with `comunas: []`, so the stored comunas cannot fall outside them;
* a call closes after it opens, also when a PATCH moves one end of a stored window: the
  other end is sent too.

Each repair touches only values that are well-formed, so a generated invalid value stays
invalid and a negative case stays negative; checks are not affected.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import schemathesis
from pydantic import TypeAdapter, ValidationError

from shared.fields import Timestamp
from shared.reference.rut import RUT_PATTERN, check_digit
from shared.reference.territory import COMUNAS, REGION_CODES

_RUT = re.compile(RUT_PATTERN)
_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(Timestamp)
_ORGANIZATIONS = "/v1/organizations"
_ORGANIZATION = "/v1/organizations/{organization_id}"
_CALLS = "/v1/calls"
_CALL = "/v1/calls/{call_id}"


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    operation = context.operation
    body = case.body
    if operation is None or not isinstance(body, dict):
        return case
    route = (operation.method.upper(), operation.path)
    if route == ("POST", _ORGANIZATIONS):
        _right_check_digit(body)
        _comunas_within_regions(body, partial=False)
    elif route == ("PATCH", _ORGANIZATION):
        _comunas_within_regions(body, partial=True)
    elif route == ("POST", _CALLS):
        _window_in_order(body, partial=False)
    elif route == ("PATCH", _CALL):
        _window_in_order(body, partial=True)
    return case


def _right_check_digit(body: dict[str, Any]) -> None:
    rut = body.get("rut")
    if not isinstance(rut, str) or len(rut) > 20 or _RUT.fullmatch(rut) is None:
        return
    text = rut.rstrip()
    digits = text[:-1].strip().rstrip("-").replace(".", "").lstrip("0")
    body["rut"] = text[:-1] + check_digit(digits) + rut[len(text) :]


def _codes(value: Any, known: Any) -> list[str] | None:
    """The list, if it is a list of distinct known codes (else None: leave it as generated)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v in known for v in value):
        return None
    return value if len(set(value)) == len(value) else None


def _comunas_within_regions(body: dict[str, Any], *, partial: bool) -> None:
    regions = _codes(body.get("regions", []), REGION_CODES)
    if regions is None:
        return
    if "comunas" not in body:
        if partial and "regions" in body:
            body["comunas"] = []  # the stored comunas may lie elsewhere
        return
    comunas = _codes(body["comunas"], COMUNAS)
    if comunas is None:
        return
    needed = [COMUNAS[cut].region for cut in comunas]
    missing = [code for code in REGION_CODES if code in needed and code not in regions]
    if missing:
        body["regions"] = [*regions, *missing]


def _instant(value: Any) -> datetime | None:
    try:
        return _TIMESTAMP.validate_python(value)
    except ValidationError:
        return None


def _day(moment: datetime, days: int) -> datetime | None:
    try:
        return moment + timedelta(days=days)
    except OverflowError:
        return None


def _window_in_order(body: dict[str, Any], *, partial: bool) -> None:
    ends = {name: _instant(body[name]) for name in ("opens_at", "closes_at") if name in body}
    if None in ends.values():
        return  # a malformed end: leave the case as generated
    opens, closes = ends.get("opens_at"), ends.get("closes_at")
    if partial and len(ends) == 1:  # complete the window a PATCH moves
        if opens is not None:
            opens, closes = opens, _day(opens, 1)
        elif closes is not None:
            opens, closes = _day(closes, -1), closes
    elif opens is None or closes is None or closes > opens:
        return
    else:
        closes = _day(opens, 1)
    if opens is None:  # there is no day before the earliest instant
        assert closes is not None
        opens, closes = closes, _day(closes, 1)
    if closes is None:  # nor one after the latest
        opens, closes = _day(opens, -1), opens
    assert opens is not None and closes is not None
    body["opens_at"], body["closes_at"] = opens.isoformat(), closes.isoformat()

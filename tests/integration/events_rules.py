"""Schemathesis hooks: the events service's rules that its OpenAPI document can only state in
prose, taught to the generator (`schemathesis.toml` loads them through `schema_rules`; the
suite imports this module).

JSON Schema cannot compare two fields, nor see the stored encuentro or which organisations the
service knows, so the document describes these rules and this module repairs generated cases:

* an encuentro ends after it starts (`ends_at` after `starts_at`), also when a PATCH moves one
  end of the stored one: the other end is sent too, so the merged encuentro keeps the order;
* a commitment names organisations the service knows (`organization_ids`), its responsible
  organisation is one of them, and its `region` lies in the encuentro's macrozone;
* staff register, and check in at the door, people of an organisation they name
  (`organization_id`), which the service must know;
* a check-in names `registration_id` or `code`, or a walk-in (`participant` with
  `organization_id`).

What the service knows (its organisations, each encuentro's macrozone, whose key is sent) is
`KNOWN`: a test module that seeds records says so with `teach`, and every answer that shows an
encuentro tells its macrozone (`after_call`). Without it (a bare `schemathesis run` against a
service that knows no organisation) the repairs that need it are skipped.

The commitment's region depends on the encuentro in the path, which a test module may point at
a seeded record just before the request is sent (`openapi_conformance.ids_from`, a
`before_call` hook registered after this one): such a module calls `repair_for_path(case)`
again once it has pointed the case.

Each repair touches only values that are well-formed, so a generated invalid value stays
invalid and a negative case stays negative; checks are not affected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import schemathesis
from pydantic import TypeAdapter, ValidationError

from shared.fields import Timestamp
from shared.reference.territory import MACROZONES, REGION_CODES, regions_of

_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(Timestamp)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENCUENTROS = "/v1/encuentros"
_ENCUENTRO = "/v1/encuentros/{encuentro_id}"
_REGISTRATIONS = _ENCUENTRO + "/registrations"
_CHECKINS = _ENCUENTRO + "/checkins"
_COMMITMENTS = _ENCUENTRO + "/commitments"


@dataclass
class Knowledge:
    """What the events service under test knows, as far as the generator needs it."""

    organizations: list[str] = field(default_factory=list)  # known and active
    caller: str | None = None  # the organisation whose key the requests carry, if any
    macrozones: dict[str, str] = field(default_factory=dict)  # encuentro id → macrozone


KNOWN = Knowledge()


def teach(
    *,
    organizations: Iterable[str] | None = None,
    caller: str | None = None,
    macrozones: Mapping[str, str] | None = None,
) -> None:
    """Tell the hooks what the service knows (`caller`: whose key is sent now, or None)."""
    if organizations is not None:
        KNOWN.organizations = list(organizations)
    KNOWN.caller = caller
    if macrozones is not None:
        KNOWN.macrozones.update(macrozones)


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    operation = context.operation
    body = case.body
    if operation is None or not isinstance(body, dict):
        return case
    route = (operation.method.upper(), operation.path)
    if route == ("POST", _ENCUENTROS):
        _window_in_order(body, partial=False)
    elif route == ("PATCH", _ENCUENTRO):
        _window_in_order(body, partial=True)
    elif route == ("POST", _REGISTRATIONS):
        _organization_named(body, by_staff=KNOWN.caller is None)
    elif route == ("POST", _CHECKINS):
        _someone_to_check_in(body)
    elif route == ("POST", _COMMITMENTS):
        _commitment_of_known_organizations(body)
    repair_for_path(case)
    return case


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    repair_for_path(case)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Every encuentro an answer shows tells its macrozone (a PATCH of a draft may move it)."""
    operation = case.operation
    if not operation.path.startswith(_ENCUENTROS) or not 200 <= response.status_code < 300:
        return
    try:
        answer = response.json()
    except ValueError:
        return
    items = answer.get("items") if isinstance(answer, dict) else None
    for shown in items if isinstance(items, list) else [answer]:
        if not isinstance(shown, dict) or "title" not in shown:
            continue  # not an encuentro
        identifier, macrozone = shown.get("id"), shown.get("macrozone")
        if isinstance(identifier, str) and macrozone in MACROZONES:
            KNOWN.macrozones[identifier] = macrozone


def repair_for_path(case: Any) -> None:
    """The repairs that depend on the record the path names (call again after pointing)."""
    body = case.body
    if not isinstance(body, dict):
        return
    route = (case.operation.method.upper(), case.operation.path)
    if route == ("POST", _COMMITMENTS):
        encuentro_id = (case.path_parameters or {}).get("encuentro_id")
        _region_in_macrozone(body, KNOWN.macrozones.get(str(encuentro_id)))


# --- the window of an encuentro -------------------------------------------------------------------


def _instant(value: Any) -> datetime | None:
    try:
        return _TIMESTAMP.validate_python(value)
    except ValidationError:
        return None


def _shifted(moment: datetime, hours: int) -> datetime | None:
    try:
        later = moment + timedelta(hours=hours)
        _TIMESTAMP.validate_python(later.isoformat())  # still within the years accepted
    except (OverflowError, ValidationError):
        return None
    return later


def _window_in_order(body: dict[str, Any], *, partial: bool) -> None:
    ends = {name: _instant(body[name]) for name in ("starts_at", "ends_at") if name in body}
    if None in ends.values() or (not partial and len(ends) < 2):
        return  # a malformed or missing end: leave the case as generated
    starts, finish = ends.get("starts_at"), ends.get("ends_at")
    if starts is not None and finish is not None and finish > starts:
        return
    if starts is not None:  # an end after the start, else a start before the end
        finish = _shifted(starts, 2)
        if finish is None:
            starts, finish = _shifted(starts, -2), starts
    elif finish is not None:
        starts = _shifted(finish, -2)
        if starts is None:
            starts, finish = finish, _shifted(finish, 2)
    if starts is None or finish is None:
        return  # nothing given (a PATCH of other fields)
    body["starts_at"], body["ends_at"] = starts.isoformat(), finish.isoformat()


# --- organisations the service knows ------------------------------------------------------------


def _well_formed_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _pick(generated: Any, choices: list[str]) -> str:
    """One of `choices`, derived from the generated value (so Hypothesis explores the choice)."""
    return choices[len(str(generated)) % len(choices)]


def _organization_named(body: dict[str, Any], *, by_staff: bool) -> None:
    """Staff name an organisation the service knows; an organisation may name itself or not."""
    known = KNOWN.organizations
    if not by_staff or not known:
        return
    given = body.get("organization_id")
    if given is None or _well_formed_id(given):
        body["organization_id"] = _pick(given, known)


def _someone_to_check_in(body: dict[str, Any]) -> None:
    if isinstance(body.get("participant"), dict):
        given = body.get("organization_id")
        if KNOWN.organizations and (given is None or _well_formed_id(given)):
            body["organization_id"] = _pick(given, KNOWN.organizations)
        return
    if body.get("registration_id") is None and body.get("code") is None:
        body["registration_id"] = "0"  # a registration (a test module points it at one)


def _commitment_of_known_organizations(body: dict[str, Any]) -> None:
    ids = body.get("organization_ids")
    known = KNOWN.organizations
    if (
        not known
        or not isinstance(ids, list)
        or not ids
        or not all(_well_formed_id(i) for i in ids)
        or len(set(ids)) != len(ids)
    ):
        return
    start = len(str(ids)) % len(known)
    rotated = known[start:] + known[:start]
    chosen = rotated[: min(len(ids), len(known))]
    body["organization_ids"] = chosen
    responsible = body.get("responsible_organization_id")
    if _well_formed_id(responsible) and responsible not in chosen:
        body["responsible_organization_id"] = _pick(responsible, chosen)


def _region_in_macrozone(body: dict[str, Any], macrozone: str | None) -> None:
    region = body.get("region")
    if macrozone not in MACROZONES or not isinstance(region, str) or region not in REGION_CODES:
        return
    inside = list(regions_of(macrozone))
    if region not in inside:
        body["region"] = _pick(region, inside)

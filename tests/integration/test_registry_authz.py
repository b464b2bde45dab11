"""Who may call what: every registry endpoint against every kind of caller, on a real process.

The table below is the authorization policy, one row per route of the app. The route list is
read from the app itself, so a new endpoint without a row here fails
``test_every_route_has_a_row``. Each cell runs against its own fresh target (an organisation in
the state the route needs, or a call), so a cell that succeeds cannot change another's outcome.

Callers:

* ``anon``: no Authorization header;
* ``owner``: the target organisation's own key (``·`` where the target is a pending
  registration, which has no key yet);
* ``other``: another organisation's key;
* ``staff``: the bootstrap key ``ARTICULA_STAFF_KEY``;
* ``staff2``: a staff key issued with the registry's key command;
* ``funder``: a funder key issued the same way;
* ``badkey``: a well-formed bearer key nobody was issued. The contract: 401 wherever a key is
  checked; routes open to anyone ignore the header.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.harness.app import served_routes
from tests.harness.processes import STAFF, ServiceProcess, Stack, running
from tests.harness.registry import (
    activate,
    bearer,
    confirmation_token,
    issue_key,
    register,
    registration,
    settled_client,
)

CALLERS = ("anon", "owner", "other", "staff", "staff2", "funder", "badkey")

# fmt: off
MATRIX = """
route                                                    anon owner other staff staff2 funder badkey
GET    /openapi.json                                     200  200   200   200   200    200    200
GET    /docs                                             200  200   200   200   200    200    200
GET    /docs/oauth2-redirect                             200  200   200   200   200    200    200
GET    /redoc                                            200  200   200   200   200    200    200
GET    /metrics                                          200  200   200   200   200    200    200
GET    /healthz                                          200  200   200   200   200    200    200
GET    /readyz                                           200  200   200   200   200    200    200
POST   /v1/organizations                                 201  201   201   201   201    201    201
GET    /v1/organizations                                 200  200   200   200   200    200    200
GET    /v1/organizations/{organization_id}               200  200   200   200   200    200    401
PATCH  /v1/organizations/{organization_id}               401  200   403   200   200    403    401
DELETE /v1/organizations/{organization_id}               401  200   403   200   200    403    401
POST   /v1/organizations/{organization_id}/confirmation  200  ·     200   200   200    200    200
POST   /v1/organizations/{organization_id}/confirmation-request 202 · 202  202   202    202    202
POST   /v1/organizations/{organization_id}/activation    401  ·     403   200   200    403    401
POST   /v1/organizations/{organization_id}/api-key       401  200   403   200   200    403    401
POST   /v1/organizations/{organization_id}/verification  401  403   403   200   200    403    401
POST   /v1/organizations/{organization_id}/suspension    401  403   403   200   200    403    401
POST   /v1/organizations/{organization_id}/reinstatement 401  403   403   200   200    403    401
GET    /v1/calls                                         200  200   200   200   200    200    200
GET    /v1/calls/{call_id}                               200  200   200   200   200    200    200
POST   /v1/calls                                         401  403   403   201   201    403    401
PATCH  /v1/calls/{call_id}                               401  403   403   200   200    403    401
POST   /v1/calls/{call_id}/closure                       401  403   403   200   200    403    401
GET    /v1/staff/organizations                           401  403   403   200   200    403    401
GET    /v1/staff/registrations/summary                   401  403   403   200   200    403    401
POST   /v1/system/pings                                  401  403   403   202   202    403    401
GET    /v1/me                                            401  200   200   200   200    200    401
"""
# fmt: on

# Cells where the registry does not (yet) follow the table: bugs, reported, expected to fail.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}

# What each route needs: the state of its target organisation, or a call, and a body.
ORG_TARGET: dict[str, str] = {
    "confirmation": "pending",
    "confirmation-request": "pending",
    "activation": "pending",
    "reinstatement": "suspended",
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/v1/organizations/{organization_id}"): {"short_name": "Nombre corto"},
    ("POST", "/v1/organizations/{organization_id}/activation"): {"reason": "Motivo de prueba"},
    ("POST", "/v1/organizations/{organization_id}/suspension"): {"reason": "Motivo de prueba"},
    ("POST", "/v1/organizations/{organization_id}/reinstatement"): {"reason": "Motivo de prueba"},
    ("POST", "/v1/organizations/{organization_id}/verification"): {
        "verified": True,
        "reason": "Motivo de prueba",
    },
    ("PATCH", "/v1/calls/{call_id}"): {"name": "Convocatoria renombrada"},
    ("POST", "/v1/system/pings"): {"message": "hola"},
}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expected: dict[str, int | None]  # None: not applicable


def parse_matrix(text: str) -> list[Row]:
    lines = [line.split() for line in text.strip().splitlines()[1:]]
    rows = []
    for method, path, *cells in lines:
        assert len(cells) == len(CALLERS), f"{method} {path}: {len(cells)} cells"
        expected = {c: None if v == "·" else int(v) for c, v in zip(CALLERS, cells, strict=True)}
        rows.append(Row(method, path, expected))
    return rows


ROWS = parse_matrix(MATRIX)


def cells() -> Iterator[Any]:
    for row in ROWS:
        for caller in CALLERS:
            status = row.expected[caller]
            if status is None:
                continue
            bug = KNOWN_BUGS.get((row.method, row.path, caller))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(row, caller, id=f"{row.method} {row.path} {caller}", marks=marks)


# --- keys and targets --------------------------------------------------------------------------


@dataclass
class World:
    stack: Stack
    registry: ServiceProcess
    http: httpx.Client
    keys: dict[str, str]  # caller → bearer key (anon and owner excluded)
    reader_id: str  # an active organisation, target of read-only cells
    reader_key: str


_windows = itertools.count(1)


def new_call(http: httpx.Client) -> str:
    """A future, non-exclusive call with its own window (windows may not overlap)."""
    start = datetime(2200, 1, 1, tzinfo=UTC) + timedelta(days=10 * next(_windows))
    response = http.post(
        "/v1/calls",
        json={
            "name": "Convocatoria de prueba",
            "opens_at": start.isoformat(),
            "closes_at": (start + timedelta(days=5)).isoformat(),
        },
        headers=STAFF,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def new_organization(http: httpx.Client, state: str) -> tuple[str, str | None]:
    """(id, owner key) of a fresh organisation in `state`: pending, active or suspended."""
    org_id = register(http, registration())
    if state == "pending":
        return org_id, None
    key = activate(http, org_id)
    if state == "suspended":
        suspended = http.post(
            f"/v1/organizations/{org_id}/suspension", json={"reason": "Motivo"}, headers=STAFF
        )
        assert suspended.status_code == 200, suspended.text
    return org_id, key


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    stack = Stack()
    try:
        registry = stack.service("registry")
        with running(registry), settled_client(stack, registry) as http:
            reader_id, reader_key = new_organization(http, "active")
            _, other_key = new_organization(http, "active")
            assert reader_key is not None and other_key is not None
            keys = {
                "other": other_key,
                "staff": STAFF["Authorization"].removeprefix("Bearer "),
                "staff2": issue_key(stack, "staff", "Equipo de prueba")[1],
                "funder": issue_key(stack, "funder", "Fondo X")[1],
                "badkey": "org_" + "x" * 43,
            }
            yield World(stack, registry, http, keys, reader_id, reader_key)
    finally:
        stack.close()


def request_for(world: World, row: Row, caller: str) -> tuple[str, dict[str, Any]]:
    """The concrete URL and request options of one cell, with a fresh target when it writes."""
    http = world.http
    url = row.path
    options: dict[str, Any] = {}
    owner_key: str | None = world.reader_key
    if "{organization_id}" in url:
        action = url.rsplit("/", 1)[-1]
        if row.method == "GET":
            org_id = world.reader_id
        else:
            org_id, owner_key = new_organization(http, ORG_TARGET.get(action, "active"))
        url = url.replace("{organization_id}", org_id)
        if action == "confirmation":
            options["json"] = {"token": confirmation_token(world.stack, org_id)}
    if "{call_id}" in url:
        url = url.replace("{call_id}", new_call(http))
    if row.method == "POST" and row.path == "/v1/organizations":
        options["json"] = registration()
    elif row.method == "POST" and row.path == "/v1/calls":
        start = datetime(2200, 1, 1, tzinfo=UTC) + timedelta(days=10 * next(_windows))
        options["json"] = {
            "name": "Convocatoria de prueba",
            "opens_at": start.isoformat(),
            "closes_at": (start + timedelta(days=5)).isoformat(),
        }
    elif (row.method, row.path) in BODIES:
        options["json"] = BODIES[(row.method, row.path)]
    if caller == "owner":
        assert owner_key is not None
        options["headers"] = bearer(owner_key)
    elif caller != "anon":
        options["headers"] = bearer(world.keys[caller])
    return url, options


# --- the tests ---------------------------------------------------------------------------------


def app_routes() -> set[tuple[str, str]]:
    return served_routes("services.registry.main")


def test_every_route_has_a_row() -> None:
    table = {(row.method, row.path) for row in ROWS}
    assert len(table) == len(ROWS), "a route appears twice in the table"
    routes = app_routes()
    assert routes - table == set(), "routes without an authorization row"
    assert table - routes == set(), "rows for routes the app no longer has"


@pytest.mark.parametrize(("row", "caller"), list(cells()))
def test_authorization(world: World, row: Row, caller: str) -> None:
    url, options = request_for(world, row, caller)
    response = world.http.request(row.method, url, **options)
    assert response.status_code == row.expected[caller], response.text[:500]
    if response.status_code in (401, 403):
        assert response.headers["content-type"].startswith("application/problem+json")
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("caller", CALLERS)
def test_only_the_owner_and_staff_see_contact_and_consent(world: World, caller: str) -> None:
    headers: dict[str, str] = {}
    if caller == "owner":
        headers = bearer(world.reader_key)
    elif caller != "anon":
        headers = bearer(world.keys[caller])
    response = world.http.get(f"/v1/organizations/{world.reader_id}", headers=headers)
    if caller == "badkey":
        assert response.status_code == 401
        return
    assert response.status_code == 200, response.text
    private = {"contact", "consent", "audit", "api_keys", "confirmation_expires_at"}
    sees = private & set(response.json())
    if caller == "owner":
        assert sees == {"contact", "consent"}
    elif caller in ("staff", "staff2"):
        assert sees == private
    else:
        assert sees == set()


def test_revoked_and_malformed_keys_are_refused(world: World) -> None:
    owner_url = f"/v1/organizations/{world.reader_id}"
    rotated = world.http.post(f"{owner_url}/api-key", headers=bearer(world.reader_key))
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["api_key"]
    old = world.http.get(owner_url, headers=bearer(world.reader_key))
    assert old.status_code == 401  # the previous key stops working at once
    world.reader_key = new_key
    assert world.http.get(owner_url, headers=bearer(new_key)).json()["contact"]

    staff_only = "/v1/staff/organizations"
    not_bearer: list[Callable[[str], dict[str, str]]] = [
        lambda key: {"Authorization": f"Basic {key}"},
        lambda key: {"Authorization": key},
        lambda key: {"Authorization": "Bearer"},
    ]
    for header in not_bearer:
        assert world.http.get(staff_only, headers=header(world.keys["staff"])).status_code == 401
    assert world.http.get(staff_only, headers=bearer(world.keys["staff"] + "x")).status_code == 401

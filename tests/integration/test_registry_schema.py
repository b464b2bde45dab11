"""The registry against its own OpenAPI document, with generated requests (schemathesis).

Every operation gets up to ``MAX_EXAMPLES`` generated requests, valid and invalid, each sent
anonymously and with the staff key, to one registry process started for the module. Checks:
no 5xx, every response body matches its documented schema, and every status is documented.

Generated path ids would only ever meet 404s, so most requests are pointed at real records
(organisations in each state, calls) seeded before the run. Shrinking is off and examples are
bounded, so a run takes well under a minute on a small machine.

The schema is built at collection time from the app (in a child process) because pytest needs
the operations to parametrize; ``test_the_served_document_is_the_tested_one`` makes sure the
running service serves that same document.

A gap between the registry and its document that cannot be fixed at once goes into
``KNOWN_UNDOCUMENTED`` (method, path, status), which the fuzzing then tolerates and nothing
else, with a strict-xfail test that reproduces it. The gaps this module found (an unreadable
body answered 400 in English; 401, 403 and 410 left out of the document) are fixed; their
reproductions stay below as regression tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import hypothesis
import pytest
import schemathesis

from tests.harness.processes import ROOT, STAFF, ServiceProcess, Stack, running
from tests.harness.registry import (
    activate,
    bearer,
    register,
    registration,
    settled_client,
)

MAX_EXAMPLES = 25


def openapi_document() -> dict[str, Any]:
    """The registry app's OpenAPI document, built in a child process (no logging side effects)."""
    script = (
        "import json\n"
        "from services.registry.main import create_app\n"
        "print(json.dumps(create_app().openapi()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return document


DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    no_shrink=True,
    deterministic=True,
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.status_code_conformance,
]

TestFunction = Callable[..., None]
for_every_operation = cast(Callable[[TestFunction], TestFunction], schema.parametrize())
bounded = cast(
    Callable[[TestFunction], TestFunction],
    hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    ),
)

BODY_OPERATIONS = [
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if "requestBody" in operation
]

ORG = "/v1/organizations/{organization_id}"
PINGS = "/v1/system/pings"

# Where this module once found an undocumented 401 (no key, or a key nobody was issued) or 410
# (the organisation withdrew); the regression tests at the end keep them documented.
UNAUTHENTICATED = [("PATCH", ORG), ("DELETE", ORG), ("GET", ORG), ("POST", PINGS)]
WITHDRAWN_OPERATIONS = [
    ("PATCH", ORG),
    ("POST", ORG + "/confirmation-request"),
    ("POST", ORG + "/activation"),
    ("POST", ORG + "/api-key"),
    ("POST", ORG + "/verification"),
    ("POST", ORG + "/suspension"),
    ("POST", ORG + "/reinstatement"),
]
# (method, path, status) answered but not documented, each with a strict-xfail reproduction;
# the fuzzing tolerates exactly these. Empty: everything found so far is fixed.
KNOWN_UNDOCUMENTED: dict[tuple[str, str, int], str] = {}


# --- the registry under test and the records requests are pointed at ------------------------


@dataclass(frozen=True)
class Target:
    registry: ServiceProcess
    organizations: list[str]  # pending, active, suspended, withdrawn (several of each)
    calls: list[str]


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    stack = Stack()
    try:
        registry = stack.service("registry")
        with running(registry), settled_client(stack, registry) as http:
            organizations: list[str] = []
            for state in ("pending", "active", "suspended", "withdrawn") * 3:
                org_id = register(http, registration())
                organizations.append(org_id)
                if state == "pending":
                    continue
                activate(http, org_id)
                if state == "suspended":
                    http.post(
                        f"/v1/organizations/{org_id}/suspension",
                        json={"reason": "Motivo"},
                        headers=STAFF,
                    ).raise_for_status()
                if state == "withdrawn":
                    http.delete(f"/v1/organizations/{org_id}", headers=STAFF).raise_for_status()
            calls = []
            for year, exclusive in ((2001, False), (2300, False)):
                response = http.post(
                    "/v1/calls",
                    json={
                        "name": f"Convocatoria {year}",
                        "opens_at": f"{year}-09-01T09:00:00-03:00",
                        "closes_at": f"{year}-09-22T23:59:00-03:00",
                        "exclusive": exclusive,
                    },
                    headers=STAFF,
                )
                assert response.status_code == 201, response.text
                calls.append(response.json()["id"])
            yield Target(registry, organizations, calls)
    finally:
        stack.close()


def point_at_real_records(case: Any, target: Target) -> None:
    """Replace generated ids with seeded ones, most of the time; the choice follows the
    generated value, so Hypothesis explores it like any other input."""
    params = case.path_parameters or {}
    for name, pool in (("organization_id", target.organizations), ("call_id", target.calls)):
        if name in params:
            generated = str(params[name])
            index = len(generated) % (len(pool) + 1)
            if index < len(pool):
                params[name] = pool[index]


def tolerated(case: Any, failure: Exception) -> bool:
    status = getattr(failure, "status_code", None)
    key = (case.operation.method.upper(), case.operation.path, status)
    return type(failure).__name__ == "UndefinedStatusCode" and key in KNOWN_UNDOCUMENTED


# --- generated requests ----------------------------------------------------------------------


@for_every_operation
@bounded
def test_operation_conforms_to_the_document(case: Any, target: Target) -> None:
    point_at_real_records(case, target)
    for headers in ({}, STAFF):
        response = case.call(base_url=target.registry.url, headers=headers, timeout=15)
        try:
            case.validate_response(response, checks=CHECKS)
        except schemathesis.errors.FailureGroup as group:
            unexpected = [f for f in group.exceptions if not tolerated(case, f)]
            if unexpected:
                raise schemathesis.errors.FailureGroup(unexpected, str(group)) from None


def test_the_served_document_is_the_tested_one(target: Target) -> None:
    served = httpx.get(f"{target.registry.url}/openapi.json", timeout=15).json()
    assert served == DOCUMENT


# --- gaps this module found, kept as regression tests ----------------------------------------


def documented(method: str, path: str) -> set[int]:
    responses = DOCUMENT["paths"][path][method.lower()]["responses"]
    return {int(status) for status in responses if status.isdigit()}


def concrete(path: str, organization_id: str, call_id: str) -> str:
    return path.replace("{organization_id}", organization_id).replace("{call_id}", call_id)


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_a_body_that_is_not_utf8_gets_a_documented_spanish_problem(
    target: Target, method: str, path: str
) -> None:
    response = httpx.request(
        method,
        target.registry.url + concrete(path, target.organizations[1], target.calls[1]),
        content=b"\xff\xfe{",
        headers={**STAFF, "Content-Type": "application/json"},
        timeout=15,
    )
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "error parsing the body" not in response.text, "English detail"
    assert response.status_code in documented(method, path), response.text


@pytest.mark.parametrize(("method", "path"), UNAUTHENTICATED)
def test_401_is_documented(target: Target, method: str, path: str) -> None:
    headers = bearer("org_" + "x" * 43) if method == "GET" else {}
    url = concrete(path, target.organizations[1], target.calls[1])
    body = {"PATCH": {}, "POST": {"message": "hola"}}.get(method)
    response = httpx.request(
        method, target.registry.url + url, json=body, headers=headers, timeout=15
    )
    assert response.status_code == 401, response.text
    assert 401 in documented(method, path)


def test_the_ping_answers_a_key_nobody_was_issued_with_a_documented_401(target: Target) -> None:
    response = httpx.post(
        target.registry.url + PINGS,
        json={"message": "hola"},
        headers=bearer("org_" + "x" * 43),
        timeout=15,
    )
    assert response.status_code == 401, response.text
    assert 401 in documented("POST", PINGS)


@pytest.mark.parametrize(("method", "path"), WITHDRAWN_OPERATIONS)
def test_410_for_a_withdrawn_organization_is_documented(
    target: Target, method: str, path: str
) -> None:
    withdrawn = target.organizations[3]
    body = {"short_name": "Otro"} if method == "PATCH" else {"reason": "Motivo", "verified": True}
    if path.endswith(("activation", "suspension", "reinstatement")):
        body = {"reason": "Motivo"}
    response = httpx.request(
        method,
        target.registry.url + concrete(path, withdrawn, target.calls[1]),
        json=None if path.endswith(("confirmation-request", "api-key")) else body,
        headers=STAFF,
        timeout=15,
    )
    assert response.status_code == 410, response.text
    assert 410 in documented(method, path)

"""The metrics service's programme routes against its own OpenAPI document, with seeded
records and an organisation's key: schemathesis with every check finds nothing.

`test_services_schema.py` runs the whole service anonymously and with the staff key, where
every programme route stops at 401, 403 or 404. Here a metrics service started with the
registry (whose keys it learns from Kafka) holds programmes of two organisations, with
indicators of every disaggregation and measurements submitted, approved and rejected; requests
are pointed at them (`point_at_records`), and run with the first organisation's key (the owner:
its writes pass authorisation and meet the domain's rules) and with the staff key (reviews).
The rules the schema cannot state (a target against its baseline, disaggregated values against
the indicator and the total, a rejection's reason, one row per area) are taught to the
generator by `metrics_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from schemathesis.generation.case import Case

from tests.harness.processes import STAFF, ServiceProcess, Stack, eventually, running
from tests.harness.registry import bearer, register_active, registration, settled_client
from tests.integration import metrics_rules
from tests.integration.openapi_conformance import PHASES as PHASES_ALL
from tests.integration.openapi_conformance import find_nonconformance, ids_from, report

OWNER, STAFF_LABEL = "organización", "equipo"
PHASES = {OWNER: PHASES_ALL, STAFF_LABEL: ("examples", "fuzzing")}
MAX_EXAMPLES = {OWNER: 10, STAFF_LABEL: 8}
STATEFUL_EXAMPLES = 20
# What the service's ids look like: a programme's (uuid4 hex), its parts' (`…-i3`, `…-m7`).
ISSUED_ID = re.compile(r"[0-9a-f]{32}(?:-[im][0-9]+)?")
PROGRAMMES = "/v1/programmes"


@dataclass
class Target:
    metrics: ServiceProcess
    key: str  # the owner's
    programmes: list[str]  # the owner's, then another organisation's
    indicators: list[str]
    measurements: list[str]
    disaggregations: dict[str, list[str]]

    def header_sets(self) -> dict[str, dict[str, str]]:
        return {OWNER: bearer(self.key), STAFF_LABEL: STAFF}


def _programme(http: httpx.Client, key: str, themes: list[str], regions: list[str]) -> str:
    body = {
        "name": "Programa sembrado",
        "summary": "Un programa para probar el documento.",
        "themes": themes,
        "regions": regions,
        "theory_of_change": {"problem": "Un problema", "outputs": ["Un producto"]},
    }
    response = http.post(PROGRAMMES, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _indicator(http: httpx.Client, key: str, programme: str, **fields: Any) -> str:
    body = {
        "name": "Indicador sembrado",
        "level": "output",
        "unit": "personas",
        "direction": "increase",
        "baseline": {"value": 10, "date": "2025-03-01"},
        "target": {"value": 50, "date": "2026-12-31"},
        **fields,
    }
    response = http.post(f"{PROGRAMMES}/{programme}/indicators", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _measurement(http: httpx.Client, key: str, indicator: str, review: str | None) -> str:
    body = {
        "period_start": "2026-01-01",
        "period_end": "2026-03-31",
        "value": 25,
        "source": "Registro",
        "evidence_level": "self_reported",
    }
    response = http.post(f"/v1/indicators/{indicator}/measurements", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    measurement = str(response.json()["id"])
    if review is not None:
        reviewed = http.post(
            f"/v1/measurements/{measurement}/review",
            json={"decision": review, "reason": "Revisado"},
            headers=STAFF,
        )
        assert reviewed.status_code == 200, reviewed.text
    return measurement


def _wait_for_key(http: httpx.Client, key: str) -> None:
    """Keys reach the metrics service through the registry's access topic."""
    eventually(lambda: http.get("/v1/me", headers=bearer(key)).status_code == 200)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    stack = Stack()
    try:
        registry, metrics = stack.service("registry"), stack.service("metrics")
        with running(registry, metrics), settled_client(stack, registry) as reg:
            key = register_active(reg, registration())[1]
            other_key = register_active(reg, registration())[1]
            with httpx.Client(base_url=metrics.url, timeout=30) as http:
                for k in (key, other_key):
                    _wait_for_key(http, k)
                mine = _programme(http, key, ["pobreza"], ["CL-RM", "CL-BI"])
                theirs = _programme(http, other_key, ["vivienda"], ["CL-AR"])
                dimensions = [[], ["sex"], ["age_group", "region"], ["sex", "age_group", "region"]]
                indicators = [_indicator(http, key, mine, disaggregations=d) for d in dimensions]
                indicators.append(
                    _indicator(
                        http,
                        other_key,
                        theirs,
                        direction="decrease",
                        target={"value": 5, "date": "2027-01-01"},
                    )
                )
                measurements = [
                    _measurement(http, key, indicators[0], review)
                    for review in (None, None, None, "approved", "rejected")
                ]
                measurements.append(_measurement(http, other_key, indicators[-1], None))
                yield Target(
                    metrics=metrics,
                    key=key,
                    programmes=[mine, theirs],
                    indicators=indicators,
                    measurements=measurements,
                    disaggregations=dict(zip(indicators, [*dimensions, []], strict=True)),
                )
    finally:
        stack.close()


def point_at_real_records(target: Target) -> Callable[[Case[Any]], None]:
    point = ids_from(
        {
            "programme_id": target.programmes,
            "indicator_id": target.indicators,
            "measurement_id": target.measurements,
        },
        issued=lambda value: ISSUED_ID.fullmatch(value) is not None,
    )

    def repaired(case: Case[Any]) -> None:
        point(case)
        metrics_rules.repair_for_path(case)

    return repaired


@pytest.mark.parametrize("headers", list(PHASES), ids=list(PHASES))
def test_schemathesis_finds_nothing(target: Target, headers: str) -> None:
    metrics_rules.teach(disaggregations=target.disaggregations)
    document: dict[str, Any] = httpx.get(f"{target.metrics.url}/openapi.json", timeout=15).json()
    # Only the programme and evidence routes: the rest has no records of this module's.
    document["paths"] = {
        path: item
        for path, item in document["paths"].items()
        if path.startswith(("/v1/programmes", "/v1/indicators", "/v1/measurements", "/v1/evidence"))
    }
    run = find_nonconformance(
        document,
        target.metrics.url,
        header_sets={headers: target.header_sets()[headers]},
        point_at_records=point_at_real_records(target),
        max_examples=MAX_EXAMPLES[headers],
        stateful_examples=STATEFUL_EXAMPLES,
        phases=PHASES[headers],
    )
    assert not run.findings, report(run.findings)
    if headers == OWNER:  # the stateful phase really chains calls from a new programme
        assert "POST /v1/programmes -> POST /v1/programmes/{programme_id}/indicators" in (
            run.links_followed
        ), run.links_followed

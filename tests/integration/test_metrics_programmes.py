"""Programme results through the public APIs, with the registry and the metrics service
running: an organisation registered and activated at the registry uses its key at the metrics
service to register a programme, define an indicator and report a measurement; staff approve
it; the indicator shows its actual and progress, the evidence is listed and published on its
topic, and the IATI export validates against the official 2.03 schema. Another organisation
may read all of it and change none of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import xmlschema

from shared.events.metrics import EvidencePublished
from shared.events.topics import Topic
from tests.harness.kafka import topic_records
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import (
    bearer,
    decoded,
    register_active,
    registration,
    settled_client,
    unique,
)

IATI_SCHEMA = (
    Path(__file__).resolve().parents[1] / "unit" / "data" / "iati" / "iati-activities-schema.xsd"
)

PROGRAMME = {
    "name": "Juntos por la Infancia",
    "summary": "Alianzas entre empresas y residencias de niños, niñas y adolescentes.",
    "themes": ["infancia_juventud", "pobreza"],
    "regions": ["CL-BI", "CL-RM"],
    "theory_of_change": {
        "problem": "Las residencias no cuentan con apoyo sostenido.",
        "activities": ["Diagnóstico de línea de base"],
        "outputs": ["Planes de trabajo acordados"],
        "intermediate_results": ["Estándares de cuidado mejorados"],
        "final_results": ["Mejor calidad de vida de los NNA"],
        "assumptions": ["Las empresas mantienen su compromiso"],
        "risks": ["Rotación de equipos"],
    },
}
INDICATOR = {
    "name": "NNA en actividades recreativas",
    "level": "output",
    "unit": "personas",
    "direction": "increase",
    "baseline": {"value": 10, "date": "2025-03-01"},
    "target": {"value": 50, "date": "2026-12-31"},
    "disaggregations": ["sex", "region"],
    "means_of_verification": "Listas de asistencia firmadas por la residencia.",
}
MEASUREMENT = {
    "period_start": "2026-01-01",
    "period_end": "2026-03-31",
    "value": 25,
    "disaggregated": [{"sex": "mujer", "value": 12}, {"region": "CL-BI", "value": 7}],
    "source": "Registro de asistencia de la residencia",
    "evidence_level": "third_party_verified",
    "evidence_url": "https://ejemplo.cl/informe-t1.pdf",
}


def _key_works(http: httpx.Client, key: str) -> None:
    """Keys reach the metrics service through the registry's access topic: wait for it."""
    eventually(lambda: http.get("/v1/me", headers=bearer(key)).status_code == 200, timeout=60)


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_programme_from_registration_to_published_evidence(stack: Stack) -> None:
    registry, metrics = stack.service("registry"), stack.service("metrics")
    with running(registry, metrics), settled_client(stack, registry) as reg:
        owner, owner_key = register_active(reg, registration(legal_form="fundacion"))
        other, other_key = register_active(reg, registration())
        http = httpx.Client(base_url=metrics.url, timeout=30)
        _key_works(http, owner_key)
        _key_works(http, other_key)
        as_owner, as_other = bearer(owner_key), bearer(other_key)

        programme = _created(http.post("/v1/programmes", json=PROGRAMME, headers=as_owner))
        assert programme["organization_id"] == owner
        assert programme["macrozones"] == ["centro_sur"]
        programme_id = programme["id"]
        indicator = _created(
            http.post(f"/v1/programmes/{programme_id}/indicators", json=INDICATOR, headers=as_owner)
        )
        measurement = _created(
            http.post(
                f"/v1/indicators/{indicator['id']}/measurements",
                json=MEASUREMENT,
                headers=as_owner,
            )
        )
        assert measurement["status"] == "submitted"

        # Not yet approved: public readers see no measurement, the owner sees it pending.
        public = http.get(f"/v1/indicators/{indicator['id']}").json()
        assert (public["measurements"], public["unpublished_measurements"]) == ([], None)
        mine = http.get(f"/v1/indicators/{indicator['id']}", headers=as_owner).json()
        assert [m["id"] for m in mine["unpublished_measurements"]] == [measurement["id"]]

        review = f"/v1/measurements/{measurement['id']}/review"
        assert http.post(review, json={"decision": "approved"}, headers=as_owner).status_code == 403
        approved = http.post(review, json={"decision": "approved"}, headers=STAFF)
        assert approved.status_code == 200, approved.text
        again = http.post(
            review, json={"decision": "rejected", "reason": "Otra vez"}, headers=STAFF
        )
        assert again.status_code == 409
        assert again.json()["current_status"] == "approved"

        found = http.get(f"/v1/indicators/{indicator['id']}").json()
        # (25 − 10) / (50 − 10) = 37.5% → 38.
        assert (found["actual"], found["progress_percent"]) == (25, 38)
        assert [m["disaggregated"] for m in found["measurements"]] == [MEASUREMENT["disaggregated"]]

        def listed() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = http.get(
                "/v1/evidence", params={"organization_id": owner, "macrozone": "centro_sur"}
            ).json()["items"]
            return items

        (evidence,) = eventually(listed, timeout=60)
        assert evidence["id"] == measurement["id"]
        assert (evidence["value"], evidence["actual"], evidence["progress_percent"]) == (25, 25, 38)
        assert evidence["themes"] == ["pobreza", "infancia_juventud"]
        assert http.get("/v1/evidence", params={"theme": "vivienda"}).json()["items"] == []

        published = [
            e.payload
            for e in unique(decoded(topic_records(stack.topic(Topic.METRICS_EVIDENCE))))
            if isinstance(e.payload, EvidencePublished)
        ]
        assert [(e.evidence_id, e.organization_id) for e in published] == [
            (measurement["id"], owner)
        ]
        assert published[0].regions == ("CL-RM", "CL-BI")

        def iati() -> httpx.Response:
            r = http.get(f"/v1/programmes/{programme_id}/iati.xml")
            assert r.status_code == 200, r.text  # 503 until the organisation reaches metrics
            return r

        document = eventually(iati, timeout=60)
        assert document.headers["content-type"].startswith("application/xml")
        schema = xmlschema.XMLSchema10(str(IATI_SCHEMA))
        errors = [f"{e.path}: {e.reason}" for e in schema.iter_errors(document.text)]
        assert not errors, errors
        assert f"-{programme_id}</iati-identifier>" in document.text

        # Another organisation reads everything and changes nothing; nobody without a key.
        plan = {
            "areas": [
                {
                    "area": "Acompañamiento",
                    "needs_identified": 69,
                    "activities": [{"name": "Taller", "status": "done"}],
                }
            ]
        }
        writes = [
            ("POST", f"/v1/programmes/{programme_id}/indicators", INDICATOR),
            ("POST", f"/v1/indicators/{indicator['id']}/measurements", MEASUREMENT),
            ("PUT", f"/v1/programmes/{programme_id}/work-plan", plan),
        ]
        for method, path, body in writes:
            assert http.request(method, path, json=body, headers=as_other).status_code == 403
            assert http.request(method, path, json=body).status_code == 401
            assert http.request(method, path, json=body, headers=STAFF).status_code == 403
        assert http.post("/v1/programmes", json=PROGRAMME, headers=STAFF).status_code == 403
        assert http.get(f"/v1/programmes/{programme_id}", headers=as_other).status_code == 200

        set_plan = http.put(f"/v1/programmes/{programme_id}/work-plan", json=plan, headers=as_owner)
        assert set_plan.status_code == 200, set_plan.text
        figures = http.get(f"/v1/programmes/{programme_id}/work-plan").json()
        assert (figures["total"]["coverage_percent"], figures["total"]["compliance_percent"]) == (
            1,
            100,
        )

        second = _created(
            http.post("/v1/programmes", json={**PROGRAMME, "regions": ["CL-AR"]}, headers=as_owner)
        )
        mine_in_biobio = http.get(
            "/v1/programmes", params={"organization_id": owner, "region": "CL-BI"}
        ).json()
        assert [p["id"] for p in mine_in_biobio["items"]] == [programme_id]
        assert http.get("/v1/programmes", params={"organization_id": other}).json()["items"] == []
        first_page = http.get("/v1/programmes", params={"organization_id": owner, "limit": 1})
        assert [p["id"] for p in first_page.json()["items"]] == [programme_id]
        cursor = first_page.json()["next_cursor"]
        next_page = http.get("/v1/programmes", params={"cursor": cursor, "limit": 1}).json()
        assert ([p["id"] for p in next_page["items"]], next_page["next_cursor"]) == (
            [second["id"]],
            None,
        )
        # Any cursor of the documented pattern is a position (schemathesis sent one).
        for path in ("/v1/programmes", "/v1/evidence"):
            assert http.get(path, params={"cursor": "3" * 40 + "-61"}).status_code == 200
            assert http.get(path, params={"cursor": "-00"}).status_code == 422

"""The metrics and notifier services against their own OpenAPI documents: schemathesis with
every check and all four phases finds nothing (the registry and the events service have their
own modules, with seeded records: `test_registry_schema.py`, `test_events_schema.py`). Each
service grows its routes in later issues; this module keeps the rule from the first route on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.harness.processes import STAFF, Stack, running
from tests.integration.openapi_conformance import find_nonconformance, report

HEADER_SETS = {"anónimo": {}, "equipo": STAFF}


@pytest.mark.parametrize("service", ["metrics", "notifier"])
def test_schemathesis_finds_nothing(stack: Stack, service: str) -> None:
    proc = stack.service(service)
    if service == "notifier":  # test pings to the rules' public address give up at once
        proc.env = {**proc.env, "NOTIFIER_WEBHOOK_TIMEOUT_SECONDS": "1"}
    with running(proc):
        document: dict[str, Any] = httpx.get(f"{proc.url}/openapi.json", timeout=15).json()
        run = find_nonconformance(document, proc.url, header_sets=HEADER_SETS, max_examples=25)
        assert not run.findings, report(run.findings)

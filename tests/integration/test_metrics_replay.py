"""Statistics are a function of the events: `rebuild` (drop everything, replay every topic)
answers exactly what the live projections answered, and a metrics process killed with SIGKILL
in the middle of the stream ends with the same figures as if it had never been killed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import httpx

from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.processes import ROOT, STAFF, Stack, eventually, running
from tests.harness.registry import bearer, register_active, registration, settled_client

SECTORS = ["sociedad_civil", "privado", "publico", "academia", "organismo_internacional"]
BYS = ["sector", "sector_group", "macrozone", "region", "theme", "links_with_others"]


def _answers(stats: httpx.Client, encuentro_id: str) -> dict[str, Any]:
    found = {by: stats.get("/v1/stats/registry", params={"by": by}).json() for by in BYS}
    found["encuentro"] = stats.get(f"/v1/stats/encuentros/{encuentro_id}").json()
    found["cycle"] = stats.get("/v1/stats/cycles/replay-test").json()
    found["commitments"] = stats.get("/v1/stats/commitments").json()
    return found


def _rebuild(stack: Stack) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "services.metrics", "rebuild"],
        cwd=ROOT,
        env={**os.environ, **stack.env, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_rebuild_answers_what_the_live_projections_answered(stack: Stack) -> None:
    registry, events, metrics = (stack.service(n) for n in ("registry", "events", "metrics"))
    with running(registry, events, metrics), settled_client(stack, registry) as reg:
        orgs = [register_active(reg, registration(sector=s)) for s in SECTORS * 2]
        wait_until_known(stack, [o for o, _ in orgs])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(http, capacity=6, cycle="replay-test")
        move(http, encuentro_id, "published")
        seats = []
        for n in range(9):
            r = http.post(
                f"/v1/encuentros/{encuentro_id}/registrations",
                json={"participant": participant()},
                headers=bearer(orgs[n][1]),
            )
            seats.append(r.json())
        move(http, encuentro_id, "in_progress")
        for seat in [s for s in seats if s["status"] == "registered"][:4]:
            http.post(
                f"/v1/encuentros/{encuentro_id}/checkins",
                json={"registration_id": seat["id"]},
                headers=STAFF,
            ).raise_for_status()
        stats = httpx.Client(base_url=metrics.url, timeout=30)
        eventually(
            lambda: (
                stats.get(f"/v1/stats/encuentros/{encuentro_id}").json().get("participaciones") == 4
            ),
            timeout=60,
        )
        live = _answers(stats, encuentro_id)
        assert live["sector"]["total"] == 10

        metrics.stop()
        assert "rebuilt" in _rebuild(stack)
        with running(metrics):
            assert _answers(stats, encuentro_id) == live


def test_a_metrics_process_killed_mid_stream_ends_with_the_same_figures(stack: Stack) -> None:
    registry, metrics = stack.service("registry"), stack.service("metrics")
    with running(registry, metrics), settled_client(stack, registry) as reg:
        stats = httpx.Client(base_url=metrics.url, timeout=30)
        done: list[str] = []

        def burst() -> None:
            for n in range(40):
                register_active(reg, registration(sector=SECTORS[n % 5]))
                done.append("x")

        sender = threading.Thread(target=burst)
        sender.start()
        eventually(lambda: len(done) >= 12, timeout=120, interval=0.05)
        metrics.kill()
        sender.join(300)
        metrics.start().wait_ready()

        def total() -> int:
            return int(stats.get("/v1/stats/registry", params={"by": "sector"}).json()["total"])

        eventually(lambda: total() == 40, timeout=120)
        groups = stats.get("/v1/stats/registry", params={"by": "sector"}).json()["groups"]
        assert {g["key"]: g["count"] for g in groups} == {s: 8 for s in SECTORS}
        regions = stats.get("/v1/stats/registry", params={"by": "region"}).json()
        assert regions["answered"] == 40

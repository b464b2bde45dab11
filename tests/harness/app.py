"""A service's app run inside the test process: for tests that need its HTTP API and its
background work (relay, consumer) on the real broker and database, but not a separate process
to kill. Starlette's TestClient runs the app's lifespan, so the runtime starts as in `serve()`
(without its logging set-up, which `create_service_app` leaves to `serve()`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.settings import ServiceSettings
from tests.harness.processes import KAFKA, MONGODB_URL, ROOT, Stack

S = TypeVar("S", bound=ServiceSettings)


def settings_for(stack: Stack, settings_class: type[S]) -> S:
    """The service's settings inside `stack` (its topic and database prefixes)."""
    return settings_class(
        kafka_bootstrap_servers=KAFKA,
        mongodb_url=MONGODB_URL,
        topic_prefix=stack.topic_prefix,
        database_prefix=stack.db_prefix,
        outbox_scan_seconds=2,
        consumer_retry_backoff_seconds=0.05,
    )


@contextmanager
def app_in_process(create_app: Callable[[S], FastAPI], settings: S) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


_ROUTES = """
import json
import fastapi.routing
from {module} import create_app

app = create_app()
flatten = getattr(fastapi.routing, "iter_route_contexts", None)
routes = list(flatten(app.routes)) if flatten else app.routes
print(json.dumps([[m, r.path] for r in routes for m in sorted(getattr(r, "methods", None) or [])]))
"""


def served_routes(module: str) -> set[tuple[str, str]]:
    """(method, path) of every route a service's app serves, HEAD aside (read in a child
    process, so that building the app cannot reconfigure this process's logging)."""
    result = subprocess.run(
        [sys.executable, "-c", _ROUTES.format(module=module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert result.returncode == 0, result.stderr
    return {(m, p) for m, p in json.loads(result.stdout.splitlines()[-1]) if m != "HEAD"}

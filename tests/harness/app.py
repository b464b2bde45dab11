"""A service's app run inside the test process: for tests that need its HTTP API and its
background work (relay, consumer) on the real broker and database, but not a separate process
to kill. Starlette's TestClient runs the app's lifespan, so the runtime starts as in `serve()`
(without its logging set-up, which `create_service_app` leaves to `serve()`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.settings import ServiceSettings
from tests.harness.processes import KAFKA, MONGODB_URL, Stack

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

"""Prometheus instrumentation shared by the four services.

One process runs one service, so metric names carry no service label: Prometheus adds the
target's `service` label at scrape time (deploy/prometheus/prometheus.yml.in).
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "articula_http_requests", "HTTP requests handled", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "articula_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

CONSUMER_CONSUMED = Counter(
    "articula_consumer_messages_consumed", "Records fetched from Kafka", ["topic", "group"]
)
CONSUMER_PROCESSED = Counter(
    "articula_consumer_messages_processed",
    "Records handled, by outcome (applied, duplicate, ignored)",
    ["topic", "group", "outcome"],
)
CONSUMER_RETRIED = Counter(
    "articula_consumer_messages_retried",
    "Handler attempts that failed and were retried",
    ["topic", "group"],
)
CONSUMER_DEAD_LETTERED = Counter(
    "articula_consumer_messages_dead_lettered",
    "Records sent to the dead-letter topic",
    ["topic", "group", "reason"],
)
CONSUMER_DURATION = Histogram(
    "articula_consumer_processing_seconds",
    "Time to handle one record, or one batch handler's run of records, retries included",
    ["topic", "group"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
CONSUMER_BATCH_SIZE = Histogram(
    "articula_consumer_batch_records",
    "Records of one partition in one batch (one poll)",
    ["topic", "group"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
CONSUMER_LAG = Gauge(
    "articula_consumer_lag", "Records behind the partition's end", ["topic", "partition", "group"]
)
CONSUMER_ASSIGNED = Gauge(
    "articula_consumer_assigned_partitions",
    "Partitions this instance owns in its consumer group (0: idle or rebalancing)",
    ["group"],
)

OUTBOX_PENDING = Gauge("articula_outbox_pending", "Events written but not yet published")
OUTBOX_OLDEST_SECONDS = Gauge(
    "articula_outbox_oldest_pending_seconds", "Age of the oldest unpublished event"
)
OUTBOX_PUBLISHED = Counter("articula_outbox_published", "Events published by the relay", ["topic"])


def _route_of(scope: Scope) -> str:
    """The route template (`/v1/organizations/{organization_id}`), never the raw path, so the
    label stays bounded. Starlette records the matched route in the scope during routing."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class HttpMetricsMiddleware:
    """Counts and times each HTTP request by method, route template and status.

    Pure ASGI (no `BaseHTTPMiddleware`, which ran every request in a task of its own with
    memory streams): it only watches `http.response.start` go by. The duration runs until the
    response starts, as it did; an exception before that is counted as a 500, then re-raised.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        duration: float | None = None

        async def send_and_measure(message: Message) -> None:
            nonlocal status, duration
            if message["type"] == "http.response.start":
                status = message["status"]
                duration = time.perf_counter() - start
            await send(message)

        try:
            await self.app(scope, receive, send_and_measure)
        finally:
            if duration is None:
                duration = time.perf_counter() - start
            method, route = scope["method"], _route_of(scope)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(duration)


def install_http_metrics(app: FastAPI) -> None:
    app.add_middleware(HttpMetricsMiddleware)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

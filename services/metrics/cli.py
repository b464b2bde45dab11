"""Command line of the metrics service.

    python -m services.metrics             # serve (default)
    python -m services.metrics rebuild     # drop every projection and replay every topic

`rebuild` is for after a change to how a statistic is folded (or to recover from a bad
projection): with the service stopped, it drops the projections and the inbox, moves the
consumer group back to each topic's first record, replays every topic with the service's own
handlers, and stops once it has read to the end, so the service resumes from there.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from services.metrics.main import service_spec
from services.metrics.settings import MetricsSettings
from services.metrics.storage.projections import PROJECTIONS
from shared.events.topics import topic_name
from shared.kafka.clients import describe_partitions, ensure_topics
from shared.logging import configure_logging
from shared.runtime import Runtime
from shared.serve import serve
from shared.storage.inbox import INBOX_COLLECTIONS

log = structlog.get_logger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.metrics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the HTTP service (default)")
    commands.add_parser("rebuild", help="drop the projections and replay every topic")
    args = parser.parse_args(argv)
    settings = MetricsSettings()
    if args.command in (None, "serve"):
        serve("services.metrics.main:create_app", settings)
        return 0
    configure_logging(settings.service_name, settings.log_level)
    return asyncio.run(rebuild(settings))


async def rebuild(settings: MetricsSettings, settle_seconds: float = 2.0) -> int:
    if not await _forget_offsets(settings):
        return 1
    runtime = Runtime(service_spec(settings))
    for collection in (*PROJECTIONS, *INBOX_COLLECTIONS):
        await runtime.db.drop_collection(collection)
    started = time.monotonic()
    await runtime.start()
    try:
        consumer = runtime.consumer
        assert consumer is not None
        # Read to the end, and stay there a moment (a partition assigned late counts too).
        quiet_since: float | None = None
        while quiet_since is None or time.monotonic() - quiet_since < settle_seconds:
            await asyncio.sleep(0.2)
            if not consumer.caught_up():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
    finally:
        await runtime.stop()
    log.info("rebuilt", seconds=round(time.monotonic() - started, 1))
    print(f"rebuilt in {time.monotonic() - started:.1f} s")
    return 0


async def _forget_offsets(settings: MetricsSettings) -> bool:
    """Move the consumer group back to every topic's first record, so the replay reads them
    all; refused while the service runs (its members hold the group)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([settings.consumer_group])
        group = response.groups[0]  # (error, id, state, protocol type, protocol, members, …)
        if group[5]:
            print("stop the metrics service first: its consumer group has members", file=sys.stderr)
            return False
    finally:
        await admin.close()
    topics = service_spec(settings).subscription
    assert topics is not None
    await ensure_topics(settings, topics.topics)
    partitions = [
        tp
        for topic in topics.topics
        for tp in await describe_partitions(
            settings.kafka_bootstrap_servers, topic_name(topic, settings.topic_prefix)
        )
    ]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        first = await consumer.beginning_offsets(partitions)
        await consumer.commit({tp: offset for tp, offset in first.items()})
    finally:
        await consumer.stop()
    return True

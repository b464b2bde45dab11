"""Command line of the registry: run the service, manage staff and funder keys.

    python -m services.registry                      # serve (default)
    python -m services.registry keys create --kind staff --label "Equipo Mesa"
    python -m services.registry keys revoke <client id>
    python -m services.registry keys list
    python -m services.registry confirmation-token <organization id>   # local runs only

Keys are shown once and stored hashed. The CLI writes to the registry's database with the
same outbox as the API, so issuing or revoking a key is an event like any other change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from services.registry import application
from services.registry.settings import RegistrySettings
from services.registry.storage.api_clients import API_CLIENTS
from services.registry.storage.unit_of_work import RegistryUnitOfWork
from shared.events.catalog import by_type
from shared.events.registry import ConfirmationRequested
from shared.events.topics import Topic, topic_name
from shared.kafka.clients import create_producer, describe_partitions, ensure_topics
from shared.kafka.codec import MalformedEvent, from_record
from shared.serve import serve
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import create_client, service_database
from shared.storage.outbox import OutboxWriter, filters_are_atomic
from shared.storage.relay import OutboxRelay

CONFIRMATIONS = by_type([ConfirmationRequested])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.registry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the HTTP service (default)")
    keys = commands.add_parser("keys", help="staff and funder API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="issue a key (printed once)")
    create.add_argument("--kind", choices=["staff", "funder"], required=True)
    create.add_argument("--label", required=True, help="whose key: a team or fund, not an e-mail")
    revoke = key_commands.add_parser("revoke", help="revoke a key by its client id")
    revoke.add_argument("client_id")
    key_commands.add_parser("list", help="list keys (never the keys themselves)")
    token = commands.add_parser(
        "confirmation-token",
        help="print the latest confirmation token of an organisation (local runs, no e-mail)",
    )
    token.add_argument("organization_id")
    args = parser.parse_args(argv)

    settings = RegistrySettings()
    if args.command in (None, "serve"):
        serve("services.registry.main:create_app", settings)
        return 0
    if args.command == "keys":
        return asyncio.run(_keys(settings, args))
    return asyncio.run(_confirmation_token(settings, args.organization_id))


async def _keys(settings: RegistrySettings, args: argparse.Namespace) -> int:
    client = create_client(settings)
    db = service_database(client, settings)
    atomic = await filters_are_atomic(client)
    # The CLI publishes its own writes' events before it exits (the running registry's marker
    # pass is the safety net): on FerretDB that pass could otherwise race this process.
    locks = DocumentLocks()
    relay = OutboxRelay(settings, db, [API_CLIENTS], locks)
    uow = RegistryUnitOfWork(OutboxWriter(db, settings, locks, relay=relay, atomic_filters=atomic))
    now = datetime.now(UTC)
    try:
        if args.keys_command == "create":
            api_client, key = await application.issue_client_key(uow, args.kind, args.label, now)
            await _publish(settings, relay)
            print(
                json.dumps(
                    {
                        "client_id": api_client.id,
                        "kind": api_client.kind,
                        "label": api_client.label,
                        "api_key": key,
                    },
                    ensure_ascii=False,
                )
            )
            print("Guarde la clave ahora: no se vuelve a mostrar.", file=sys.stderr)
            return 0
        if args.keys_command == "revoke":
            if await application.revoke_client_key(uow, args.client_id, now):
                await _publish(settings, relay)
                print(f"Clave {args.client_id} revocada.")
                return 0
            print(f"No hay una clave vigente con id {args.client_id}.", file=sys.stderr)
            return 1
        for api_client in await uow.api_clients.all():
            print(json.dumps(api_client.listing(), ensure_ascii=False))
        return 0
    finally:
        await client.close()


async def _publish(settings: RegistrySettings, relay: OutboxRelay, seconds: float = 20) -> None:
    """Publish what this command wrote; if the broker does not answer, say so and leave it to
    the running registry's marker pass."""
    producer = create_producer(settings)
    try:
        async with asyncio.timeout(seconds):
            await ensure_topics(settings, [Topic.REGISTRY_ACCESS])
            await producer.start()
            await relay.publish_hinted(producer)
    except (TimeoutError, KafkaError, OSError) as exc:
        print(
            f"Kafka no respondió ({type(exc).__name__}); "
            "el registro en marcha publicará el cambio.",
            file=sys.stderr,
        )
    finally:
        await producer.stop()


async def _confirmation_token(settings: RegistrySettings, organization_id: str) -> int:
    """Read the private topic the notifier reads, as a stand-in for the e-mail on local runs."""
    await ensure_topics(settings, [Topic.REGISTRY_NOTIFICATIONS])
    topic = topic_name(Topic.REGISTRY_NOTIFICATIONS, settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await describe_partitions(settings.kafka_bootstrap_servers, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[Any, int] = await consumer.end_offsets(partitions)
        latest: ConfirmationRequested | None = None
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    try:
                        event = from_record(
                            record.key, record.value, record.headers, CONFIRMATIONS
                        ).payload
                    except MalformedEvent:
                        continue
                    if isinstance(event, ConfirmationRequested) and (
                        event.organization_id == organization_id
                    ):
                        latest = event
    finally:
        await consumer.stop()
    if latest is None:
        print(f"No hay solicitudes de confirmación para {organization_id}.", file=sys.stderr)
        return 1
    print(latest.token)
    return 0

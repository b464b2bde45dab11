"""The MongoDB client (PyMongo's async API); the same code runs on MongoDB and FerretDB."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.settings import ServiceSettings

Document = dict[str, Any]

DUPLICATE_KEY = 11000


def create_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        settings.mongodb_url,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        retryWrites=True,
        maxPoolSize=settings.mongodb_max_pool_size,
        tz_aware=True,
        appname=f"articula-{settings.service_name}",
    )


def service_database(
    client: AsyncMongoClient[Document], settings: ServiceSettings
) -> AsyncDatabase[Document]:
    return client[settings.database_name]


async def ping(client: AsyncMongoClient[Document]) -> None:
    await client.admin.command("ping")


def duplicates_refused(exc: BulkWriteError) -> list[int]:
    """The positions, in an unordered `insert_many`, of the documents refused because their
    `_id` exists; any other refusal is raised again."""
    errors = exc.details.get("writeErrors", [])
    if any(error.get("code") != DUPLICATE_KEY for error in errors):
        raise exc
    return [int(error["index"]) for error in errors]

"""The MongoDB client (PyMongo's async API); the same code runs on MongoDB and FerretDB."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.settings import ServiceSettings

Document = dict[str, Any]


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

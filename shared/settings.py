"""Settings every service reads from the environment (pydantic-settings).

Connection strings use the names of the public contract (`KAFKA_BOOTSTRAP_SERVERS`,
`MONGODB_URL`), so pointing a service at a real MongoDB or Kafka cluster is one variable.
Service-specific values use the service's prefix, e.g. `REGISTRY_PORT`.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it with its own name, prefix and port."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "articula"
    host: str = "127.0.0.1"
    port: int = 8000

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS")
    )
    mongodb_url: str = Field(
        default="mongodb://127.0.0.1:27017", validation_alias=AliasChoices("MONGODB_URL")
    )
    # Connections per service. SQLite (under FerretDB) takes one writer at a time and makes the
    # others sleep and retry, so a small pool that queues in the client is much faster there.
    mongodb_max_pool_size: int = Field(
        default=100, validation_alias=AliasChoices("MONGODB_MAX_POOL_SIZE")
    )
    # Prefixes isolate deployments (and test runs) sharing one broker or database server.
    topic_prefix: str = Field(default="", validation_alias=AliasChoices("ARTICULA_TOPIC_PREFIX"))
    database_prefix: str = Field(
        default="articula_", validation_alias=AliasChoices("ARTICULA_DATABASE_PREFIX")
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    staff_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ARTICULA_STAFF_KEY")
    )

    # Full outbox passes (start-up and safety net); writes are published at once via hints.
    outbox_scan_seconds: float = Field(
        default=30, validation_alias=AliasChoices("ARTICULA_OUTBOX_SCAN_SECONDS")
    )
    # Records per poll: claimed, handled and completed together (a few writes per batch).
    consumer_batch_size: int = Field(
        default=500, ge=1, validation_alias=AliasChoices("ARTICULA_CONSUMER_BATCH_SIZE")
    )
    consumer_max_attempts: int = Field(
        default=4, validation_alias=AliasChoices("ARTICULA_CONSUMER_MAX_ATTEMPTS")
    )
    consumer_retry_backoff_seconds: float = Field(
        default=0.2, validation_alias=AliasChoices("ARTICULA_CONSUMER_RETRY_BACKOFF_SECONDS")
    )
    # Test-only fault injection: the named point kills the process (see shared.faults).
    fault_point: str | None = Field(
        default=None, validation_alias=AliasChoices("ARTICULA_FAULT_POINT")
    )

    @property
    def database_name(self) -> str:
        return f"{self.database_prefix}{self.service_name}"

    @property
    def consumer_group(self) -> str:
        return f"{self.topic_prefix}articula-{self.service_name}"

    @property
    def event_source(self) -> str:
        """CloudEvents `source` of everything this service emits."""
        return f"/articula/{self.service_name}"

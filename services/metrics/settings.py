from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    """`METRICS_PORT`, `METRICS_HOST`; connection strings are shared (see ServiceSettings)."""

    model_config = SettingsConfigDict(env_prefix="METRICS_", extra="ignore", populate_by_name=True)

    service_name: str = "metrics"
    port: int = 8003

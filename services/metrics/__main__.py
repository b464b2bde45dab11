"""`python -m services.metrics [serve]`."""

from services.metrics.settings import MetricsSettings
from shared.serve import serve

if __name__ == "__main__":
    serve("services.metrics.main:create_app", MetricsSettings())

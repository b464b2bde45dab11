"""HTTP API (beyond /healthz, /readyz, /metrics, /openapi.json)."""

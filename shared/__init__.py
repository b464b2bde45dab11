"""Articula's common package: event contracts, Kafka and MongoDB plumbing, settings,
logging, Prometheus instrumentation, problem details and auth, shared by the four services."""

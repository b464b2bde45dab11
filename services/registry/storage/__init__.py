"""Registry persistence (its own database); every write carries its events (outbox)."""

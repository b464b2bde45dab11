"""Registry consumes no other service's events yet."""

"""Domain rules, free of I/O (filled by the service's feature issues)."""

"""Persistence in the service's own database."""

"""Metrics: results statistics, needs-offers matching, programme indicators and evidence."""

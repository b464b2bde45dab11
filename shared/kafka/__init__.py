"""Kafka plumbing: CloudEvents codec, producer, topic administration, reliable consumer."""

"""Versioned event contracts carried as CloudEvents 1.0 in Kafka binary mode."""

from shared.events.base import EventContract
from shared.events.topics import Topic

__all__ = ["EventContract", "Topic"]

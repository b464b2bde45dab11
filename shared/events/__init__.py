"""Versioned event contracts carried as CloudEvents 1.0 in Kafka binary mode."""

from shared.events.base import EventContract, contract_for, registered_contracts
from shared.events.topics import Topic

__all__ = ["EventContract", "Topic", "contract_for", "registered_contracts"]

"""Base class and catalogue of event contracts.

A contract is a pydantic model with a CloudEvents `type` (`cl.articula.<area>.<name>`), an
integer schema version and the topic it travels on. The version is part of the type string
(`….v1`), so a consumer can tell old and new shapes apart and a breaking change is a new
class, never an edit of an old one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from shared.events.topics import Topic

_CATALOGUE: dict[str, type[EventContract]] = {}


class EventContract(BaseModel):
    """Payload of one event; `aggregate_id` becomes the Kafka record key and CE `subject`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: ClassVar[str]
    version: ClassVar[int]
    topic: ClassVar[Topic]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return  # an abstract intermediate class
        ce_type = cls.ce_type()
        if ce_type in _CATALOGUE and _CATALOGUE[ce_type] is not cls:
            raise TypeError(f"two contracts claim the event type {ce_type}")
        _CATALOGUE[ce_type] = cls

    @classmethod
    def ce_type(cls) -> str:
        return f"cl.articula.{cls.name}.v{cls.version}"

    def aggregate_id(self) -> str:
        raise NotImplementedError


def contract_for(ce_type: str) -> type[EventContract] | None:
    return _CATALOGUE.get(ce_type)


def registered_contracts() -> dict[str, type[EventContract]]:
    return dict(_CATALOGUE)

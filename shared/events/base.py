"""Base class of event contracts.

A contract is a pydantic model with a CloudEvents `type` (`cl.articula.<area>.<name>`), an
integer schema version and the topic it travels on. The version is part of the type string
(`….v1`), so a consumer can tell old and new shapes apart and a breaking change is a new
class, never an edit of an old one.

There is no process-wide registry filled by imports: every contract is listed once in
`shared.events.catalog`, and a consumer decodes only the contracts it subscribes to.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.events.topics import Topic


class EventContract(BaseModel):
    """Payload of one event; `aggregate_id` becomes the Kafka record key and CE `subject`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: ClassVar[str]
    version: ClassVar[int]
    topic: ClassVar[Topic]

    @classmethod
    def ce_type(cls) -> str:
        return f"cl.articula.{cls.name}.v{cls.version}"

    def aggregate_id(self) -> str:
        raise NotImplementedError

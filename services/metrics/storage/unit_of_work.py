"""The metrics service's unit of work: its projections on one outbox writer."""

from __future__ import annotations

from services.metrics.storage.matches import AnswerRepository, MatchRepository
from services.metrics.storage.projections import (
    BucketRepository,
    EncuentroTallyRepository,
    OrganizationRepository,
)
from shared.runtime import Runtime
from shared.storage.locks import DocumentLocks
from shared.storage.outbox import OutboxWriter
from shared.storage.repository import Position, UnitOfWork

# Serialises the folds that touch shared documents inside this process (two partitions'
# events may both change one bucket or one encuentro's tally); across processes the
# compare-and-set decides and the consumer retries.
FOLDS = DocumentLocks()


class MetricsUnitOfWork(UnitOfWork):
    def __init__(self, writer: OutboxWriter, *, applying: Position | None = None) -> None:
        super().__init__(writer, applying=applying)
        self.organizations = OrganizationRepository(self)
        self.buckets = BucketRepository(self)
        self.tallies = EncuentroTallyRepository(self)
        self.answers = AnswerRepository(self)
        self.matches = MatchRepository(self)
        self.folds = FOLDS


def metrics_unit_of_work(runtime: Runtime, applying: Position | None) -> MetricsUnitOfWork:
    return MetricsUnitOfWork(runtime.outbox, applying=applying)

"""The metrics service's unit of work: its projections and programmes on one outbox writer."""

from __future__ import annotations

from services.metrics.storage.evidence import INDEXES as EVIDENCE_INDEXES
from services.metrics.storage.evidence import EvidenceRepository
from services.metrics.storage.matches import AnswerRepository, MatchRepository
from services.metrics.storage.programmes import INDEXES as PROGRAMME_INDEXES
from services.metrics.storage.programmes import ProgrammeRepository
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
# Serialises the decisions about one programme inside this process (an approval and a new
# measurement queue instead of retrying compare-and-sets); across processes the compare-and-set
# decides and the use case reads again.
DECISIONS = DocumentLocks()


class MetricsUnitOfWork(UnitOfWork):
    def __init__(self, writer: OutboxWriter, *, applying: Position | None = None) -> None:
        super().__init__(writer, applying=applying)
        self.organizations = OrganizationRepository(self)
        self.buckets = BucketRepository(self)
        self.tallies = EncuentroTallyRepository(self)
        self.answers = AnswerRepository(self)
        self.matches = MatchRepository(self)
        self.programmes = ProgrammeRepository(self)
        self.evidence = EvidenceRepository(self)
        self.folds = FOLDS
        self.decisions = DECISIONS

    async def ensure_indexes(self) -> None:
        """For MongoDB deployments' filtered lists; FerretDB reads by `_id` or scans."""
        for keys in PROGRAMME_INDEXES:
            await self.programmes.collection.create_index(keys)
        for keys in EVIDENCE_INDEXES:
            await self.evidence.collection.create_index(keys)


def metrics_unit_of_work(runtime: Runtime, applying: Position | None) -> MetricsUnitOfWork:
    return MetricsUnitOfWork(runtime.outbox, applying=applying)

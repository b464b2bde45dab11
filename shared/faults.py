"""Deterministic crash points for the reliability tests.

A test starts a service with `ARTICULA_FAULT_POINT=<name>`; when the code reaches that point
the process kills itself with SIGKILL, exactly as a power cut would, leaving no chance for
clean-up. Unset in every normal run, where `maybe_crash` is a no-op.
"""

from __future__ import annotations

import os
import signal

import structlog

log = structlog.get_logger(__name__)

# The points the reliability tests use; named here so grep finds every one.
AFTER_STATE_WRITE = "outbox.after_state_write"  # state + outbox written, nothing published
AFTER_PUBLISH = "relay.after_publish"  # published, not yet marked sent
BEFORE_BATCH_COMPLETE = "consumer.before_batch_complete"  # claimed and handled, not completed
AFTER_HANDLE = "consumer.after_handle"  # batch handled and completed, offsets not committed


def maybe_crash(point: str, configured: str | None) -> None:
    if configured and configured == point:
        log.warning("fault_injected", point=point)
        os.kill(os.getpid(), signal.SIGKILL)

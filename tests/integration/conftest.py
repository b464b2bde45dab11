from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.processes import Stack


@pytest.fixture
def stack() -> Iterator[Stack]:
    s = Stack()
    try:
        yield s
    finally:
        s.close()

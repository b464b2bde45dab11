from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.harness import Stack


@pytest.fixture
def stack() -> Iterator[Stack]:
    s = Stack()
    try:
        yield s
    finally:
        s.close()

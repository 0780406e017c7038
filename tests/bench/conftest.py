"""Shared helpers of the bench tests: access to the fixture text files."""
from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixture_text():
    """Return the text of a file in tests/bench/fixtures by name."""
    def read(name: str) -> str:
        return (FIXTURES / name).read_text()
    return read

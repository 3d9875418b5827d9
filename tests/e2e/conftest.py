"""Shared fixtures. `localrun` (scripts/) and `support` (here) are importable
through pytest's `pythonpath` in pyproject.toml."""

import pytest

from localrun import Services


@pytest.fixture
def svc():
    """moto running; the test starts cargo lambda watch with its connection.
    Everything started is stopped when the test ends."""
    with Services() as s:
        s.start_moto()
        yield s
        s.cleanup()

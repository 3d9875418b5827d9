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


@pytest.fixture
def failing():
    """moto serving a failed history for every execution it starts
    (`SF_EXECUTION_HISTORY_TYPE=FAILURE`: `A State` fails with `AnError`), so
    the EventBridge path reads a failure from history as in production."""
    with Services() as s:
        s.start_moto(env={"SF_EXECUTION_HISTORY_TYPE": "FAILURE"})
        yield s
        s.cleanup()

"""Helpers the end-to-end tests share (fixtures are in conftest.py)."""

import json
import os

EVENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "events")


def load_event(name):
    """A sample event from events/, as a fresh dict the test may change."""
    with open(os.path.join(EVENTS, name)) as f:
        return json.load(f)

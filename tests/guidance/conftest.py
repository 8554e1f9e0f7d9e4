"""The Stripe sandbox's clock for the tests of billing facts and suggested actions."""

from datetime import UTC, datetime, timedelta

import pytest

from billing_console.integrations.stripe.sandbox.state import State

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday


class Clock:
    def __init__(self):
        self.now = START

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """The sandbox's clock, which only the test moves: every object the sandbox makes is
    created at `clock.now`."""
    clock = Clock()
    monkeypatch.setattr(State, "now", lambda state: int(clock.now.timestamp()))
    return clock

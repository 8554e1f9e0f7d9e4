"""Two workers given the same inbox event at once, from real threads with their own
connections, on PostgreSQL: the claim under a row lock lets only one run its handlers."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: row locks between workers (set DATABASE_URL)"),
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
WORKERS = 2


def all_at_once(call):
    """Run `call()` in WORKERS threads released together; returns the results."""
    barrier = threading.Barrier(WORKERS)

    def run(_):
        barrier.wait()
        try:
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(run, range(WORKERS)))


@pytest.fixture
def slow_handler(monkeypatch):
    """A handler that takes a while, as one calling Stripe does, so the workers overlap."""
    runs = []
    monkeypatch.setattr(inbox, "_handlers", type(inbox._handlers)(list))

    def handle(event):
        runs.append(event.event_id)
        time.sleep(0.5)

    inbox.handles("stripe", "refund.updated")(handle)
    return runs


def test_two_workers_racing_on_one_event_run_its_handler_once(slow_handler, monkeypatch):
    monkeypatch.setattr(inbox, "_queue", lambda pk, countdown=None: None)
    event, _ = inbox.accept(source="stripe", event_id="evt_race", event_type="refund.updated",
                            payload={})

    all_at_once(lambda: inbox.process(event.pk))

    assert slow_handler == ["evt_race"]
    event.refresh_from_db()
    assert (event.status, event.attempts) == (InboundEvent.Status.PROCESSED, 1)

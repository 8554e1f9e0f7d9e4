"""A write-back is claimed (`sending`, under a row lock) before Zendesk is called, so the
same comment or public reply reaches the ticket once however many messages name it; the
sweeper sends again only unclaimed rows, and rows whose worker was lost."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from cases import tasks
from cases.models import WriteBack
from cases.selectors import case_write_back_problems
from cases.services import WRITE_BACK_CLAIM_TIMEOUT
from tests.cases.factories import make_case

REPLY = "Your refund of 16.00 USD is on its way."
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: row locks between workers (set DATABASE_URL)")


@pytest.fixture
def ticket_case(zendesk_sandbox):
    ticket = zendesk_sandbox.create_ticket(subject="Charged twice")
    return make_case(zendesk_ticket_id=ticket["id"])


@pytest.fixture
def slow_zendesk(monkeypatch):
    """Zendesk takes half a second to answer, so racing workers overlap in the call."""
    update_ticket = tasks.zendesk.update_ticket

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return update_ticket(*args, **kwargs)

    monkeypatch.setattr(tasks.zendesk, "update_ticket", slow)


def replies_on(sandbox, ticket_id):
    _, body = sandbox.call("GET", f"/api/v2/tickets/{ticket_id}/comments.json")
    return [c["body"] for c in body["comments"] if c["body"] == REPLY]


def queued_reply(case):
    """A public reply kept for Zendesk a while ago, as `write_back_queue` keeps it, with no
    queue message (the tests send it)."""
    write_back = WriteBack.objects.create(case=case, note=REPLY, public=True)
    WriteBack.objects.filter(pk=write_back.pk).update(
        created_at=timezone.now() - timedelta(minutes=10))
    return write_back


def overlapping(call, workers=2):
    """Run `call()` in `workers` threads, each starting 0.2 s after the one before: the
    later ones arrive while the first is inside Zendesk's half-second answer (a sweeper's
    or a retry's message for a row being sent)."""
    barrier = threading.Barrier(workers)

    def run(i):
        barrier.wait()
        time.sleep(0.2 * i)
        try:
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(workers)))


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_to_send_one_write_back_post_one_reply(
        ticket_case, zendesk_sandbox, slow_zendesk):
    write_back = queued_reply(ticket_case)

    overlapping(lambda: tasks.send_write_back.run(write_back.pk))

    assert replies_on(zendesk_sandbox, ticket_case.zendesk_ticket_id) == [REPLY]
    write_back.refresh_from_db()
    assert (write_back.status, write_back.attempts) == (WriteBack.Status.SENT, 1)


@pytest.mark.django_db
def test_a_write_back_being_sent_is_left_to_its_worker(ticket_case, zendesk_sandbox,
                                                       eager_tasks):
    write_back = queued_reply(ticket_case)
    WriteBack.objects.filter(pk=write_back.pk).update(
        status=WriteBack.Status.SENDING, claimed_at=timezone.now(), attempts=1)

    assert tasks.resend_unsent_write_backs() == 0
    tasks.send_write_back.run(write_back.pk)

    assert replies_on(zendesk_sandbox, ticket_case.zendesk_ticket_id) == []
    assert WriteBack.objects.get(pk=write_back.pk).status == WriteBack.Status.SENDING


@pytest.mark.django_db
def test_a_write_back_claimed_by_a_lost_worker_is_sent_after_the_timeout(
        ticket_case, zendesk_sandbox, eager_tasks):
    write_back = queued_reply(ticket_case)
    WriteBack.objects.filter(pk=write_back.pk).update(
        status=WriteBack.Status.SENDING, attempts=1,
        claimed_at=timezone.now() - WRITE_BACK_CLAIM_TIMEOUT - timedelta(seconds=1))

    assert tasks.resend_unsent_write_backs() == 1

    assert replies_on(zendesk_sandbox, ticket_case.zendesk_ticket_id) == [REPLY]
    write_back.refresh_from_db()
    assert (write_back.status, write_back.attempts, write_back.claimed_at) == (
        WriteBack.Status.SENT, 2, None)
    assert tasks.resend_unsent_write_backs() == 0


@pytest.mark.django_db
def test_a_sent_write_back_is_never_sent_again(ticket_case, zendesk_sandbox, eager_tasks):
    write_back = queued_reply(ticket_case)
    tasks.send_write_back.run(write_back.pk)

    tasks.send_write_back.run(write_back.pk)
    assert tasks.resend_unsent_write_backs() == 0

    assert replies_on(zendesk_sandbox, ticket_case.zendesk_ticket_id) == [REPLY]


@pytest.mark.django_db
def test_a_write_back_stuck_sending_is_a_problem_on_its_case(ticket_case):
    write_back = queued_reply(ticket_case)
    WriteBack.objects.filter(pk=write_back.pk).update(
        status=WriteBack.Status.SENDING, claimed_at=timezone.now(), attempts=1)

    assert case_write_back_problems(case=ticket_case) == [write_back]

"""A write-back reaches Zendesk once even when an attempt's outcome was never recorded: its
worker was killed after Zendesk took the update (Celery, acking late, hands the message to
another worker, and the sweeper sends the row again once the claim expires), or Zendesk's
answer never came back. Each update carries its write-back's id as custom metadata of its
audit, and a later attempt finds it on the ticket instead of posting the note again."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from cases import services, tasks
from cases.models import State, WriteBack
from cases.services import WRITE_BACK_CLAIM_TIMEOUT, case_add_note, case_transition
from tests.cases.factories import make_case

STATE_NOTE = "Billing Console: this case is triaged."


class WorkerKilled(BaseException):
    """The worker's process dies here: nothing after it runs, and nothing catches it."""


@pytest.fixture
def ticket_case(db, zendesk_sandbox):
    ticket = zendesk_sandbox.create_ticket(subject="Charged twice")
    return make_case(zendesk_ticket_id=ticket["id"], requester_zendesk_id=ticket["requester_id"],
                     subject="Charged twice")


def _notes(sandbox, ticket_id):
    _, body = sandbox.call("GET", f"/api/v2/tickets/{ticket_id}/comments.json")
    return [c["body"] for c in body["comments"] if not c["public"]]


def _queued(django_capture_on_commit_callbacks, change):
    """The one write-back `change()` keeps, its message not sent (the test delivers it)."""
    with django_capture_on_commit_callbacks(execute=False):
        change()
    return WriteBack.objects.get()


def _killed_after_zendesk_took_it(monkeypatch, write_back_id):
    """The first delivery: Zendesk takes the update, then the worker dies before recording
    it, leaving the row claimed."""
    def killed(**_):
        raise WorkerKilled

    with monkeypatch.context() as patched:
        patched.setattr(services, "write_back_record_sent", killed)
        patched.setattr(services, "write_back_record_followed_up", killed)
        with pytest.raises(WorkerKilled):
            tasks.send_write_back.run(write_back_id)


def _claim_expired(write_back_id):
    WriteBack.objects.filter(pk=write_back_id).update(
        claimed_at=timezone.now() - WRITE_BACK_CLAIM_TIMEOUT - timedelta(seconds=1),
        created_at=timezone.now() - timedelta(minutes=10))


def test_a_state_note_whose_worker_was_killed_after_zendesk_took_it_is_posted_once(
        ticket_case, zendesk_sandbox, specialist, monkeypatch, eager_tasks,
        django_capture_on_commit_callbacks):
    write_back = _queued(django_capture_on_commit_callbacks, lambda: case_transition(
        case=ticket_case, to_state=State.TRIAGED, actor=specialist))
    _killed_after_zendesk_took_it(monkeypatch, write_back.pk)

    # The message is redelivered at once: the claim still holds, so it leaves the row be.
    tasks.send_write_back.run(write_back.pk)
    assert WriteBack.objects.get().status == WriteBack.Status.SENDING
    # Once the claim has expired, the sweeper sends the row again.
    _claim_expired(write_back.pk)
    assert tasks.resend_unsent_write_backs() == 1

    assert _notes(zendesk_sandbox, ticket_case.zendesk_ticket_id) == [STATE_NOTE]
    write_back.refresh_from_db()
    assert (write_back.status, write_back.attempts) == (WriteBack.Status.SENT, 2)


def test_a_note_whose_answer_never_came_back_is_not_posted_again_by_the_retry(
        ticket_case, zendesk_sandbox, specialist, monkeypatch,
        django_capture_on_commit_callbacks):
    note = "Refund of 16.00 USD issued."
    write_back = _queued(django_capture_on_commit_callbacks, lambda: case_add_note(
        case=ticket_case, body=note, actor=specialist, post_to_zendesk=True))
    update_ticket = tasks.zendesk.update_ticket

    def taken_but_unanswered(*args, **kwargs):
        update_ticket(*args, **kwargs)
        raise tasks.ZendeskTransientError("Zendesk ticket: ReadTimeout")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.zendesk, "update_ticket", taken_but_unanswered)
        with pytest.raises(Retry):
            tasks.send_write_back.run(write_back.pk)
    tasks.send_write_back.run(write_back.pk)  # the retry

    assert _notes(zendesk_sandbox, ticket_case.zendesk_ticket_id) == [note]
    assert WriteBack.objects.get().status == WriteBack.Status.SENT


def test_a_follow_up_whose_worker_was_killed_after_zendesk_made_it_is_made_once(
        ticket_case, zendesk_sandbox, specialist, monkeypatch, eager_tasks,
        django_capture_on_commit_callbacks):
    ticket_id = ticket_case.zendesk_ticket_id
    zendesk_sandbox.call("PUT", f"/api/v2/tickets/{ticket_id}.json",
                         {"ticket": {"status": "closed"}})
    write_back = _queued(django_capture_on_commit_callbacks, lambda: case_transition(
        case=ticket_case, to_state=State.TRIAGED, actor=specialist))
    _killed_after_zendesk_took_it(monkeypatch, write_back.pk)

    _claim_expired(write_back.pk)
    assert tasks.resend_unsent_write_backs() == 1

    _, body = zendesk_sandbox.call("GET", f"/api/v2/tickets/{ticket_id}.json")
    [follow_up_id] = body["ticket"]["followup_ids"]
    write_back.refresh_from_db()
    assert (write_back.status, write_back.follow_up_ticket_id) == (
        WriteBack.Status.FOLLOWED_UP, follow_up_id)
    assert _notes(zendesk_sandbox, follow_up_id) == [STATE_NOTE]

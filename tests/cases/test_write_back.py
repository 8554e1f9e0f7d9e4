"""Write-back: what the console tells Zendesk is kept until Zendesk takes it."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from cases.models import WriteBack
from cases.services import case_add_note
from cases.tasks import resend_unsent_write_backs, send_write_back
from tests.cases.factories import make_case

NOTE = "Refund of 16.00 USD issued."


@pytest.fixture
def ticket_case(db, zendesk_sandbox):
    ticket = zendesk_sandbox.create_ticket(subject="Charged twice")
    return make_case(zendesk_ticket_id=ticket["id"])


def _internal_notes(sandbox, ticket_id):
    _, body = sandbox.call("GET", f"/api/v2/tickets/{ticket_id}/comments.json")
    return [c["body"] for c in body["comments"] if not c["public"]]


def test_a_note_reaches_the_ticket_as_an_internal_note(
        ticket_case, zendesk_sandbox, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case=ticket_case, body=NOTE, actor=specialist, post_to_zendesk=True)
    assert WriteBack.objects.get().status == WriteBack.Status.SENT
    assert _internal_notes(zendesk_sandbox, ticket_case.zendesk_ticket_id) == [NOTE]


def test_a_write_back_waits_out_zendesk_being_down_and_is_sent_once(
        ticket_case, zendesk_sandbox, specialist, settings, eager_tasks,
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        case_add_note(case=ticket_case, body=NOTE, actor=specialist, post_to_zendesk=True)
    write_back = WriteBack.objects.get()

    settings.ZENDESK_API_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(Retry):
        send_write_back.run(write_back.pk)
    write_back.refresh_from_db()
    assert write_back.status == WriteBack.Status.FAILED
    assert "ZendeskTransientError" in write_back.last_error

    # Later, the queue message is gone, Zendesk is back, and the sweeper finds the row.
    settings.ZENDESK_API_URL = zendesk_sandbox.url
    WriteBack.objects.filter(pk=write_back.pk).update(
        created_at=timezone.now() - timedelta(minutes=10))
    assert resend_unsent_write_backs() == 1
    assert resend_unsent_write_backs() == 0
    write_back.refresh_from_db()
    assert write_back.status == WriteBack.Status.SENT
    assert _internal_notes(zendesk_sandbox, ticket_case.zendesk_ticket_id) == [NOTE]

"""Reads of one Zendesk ticket asked for close together are coalesced: a webhook that waits
in the inbox behind a later one for the same ticket, and a new case whose ticket has a
webhook waiting, leave the read to that later webhook, which still sees every change."""

import pytest

from billing_console.celery import app as celery_app
from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent
from cases import sync, tasks
from cases.models import Case, CaseEvent
from tests.cases.zendesk_sandbox import ticket_spec


def _webhook(ticket_id, invocation, *, as_text=False):
    """A ticket webhook stored in the inbox and left waiting (`pending`): its processing
    task would be queued on commit, which a test's transaction never reaches."""
    payload = {"event": "ticket_updated", "id": str(ticket_id) if as_text else ticket_id}
    event, created = inbox.accept(source="zendesk", event_id=invocation,
                                  event_type="ticket_updated", payload=payload)
    assert created
    return event


def _comment(sandbox, ticket_id, body):
    status, _ = sandbox.call("PUT", f"/api/v2/tickets/{ticket_id}.json",
                             {"ticket": {"comment": {"body": body, "public": False}}})
    assert status == 200


def _ticket_reads(sandbox, ticket_id):
    return sandbox.requests_received().count(f"GET /api/v2/tickets/{ticket_id}.json")


def _comments(ticket_id):
    return set(CaseEvent.objects.filter(case__zendesk_ticket_id=ticket_id,
                                        kind=CaseEvent.Kind.COMMENT)
               .values_list("body", flat=True))


@pytest.fixture
def escalated_ticket(db, zendesk_sandbox):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1)])
    sync.refresh_ticket(ticket["id"])
    return ticket["id"]


def test_webhooks_waiting_for_one_ticket_read_it_once_and_miss_no_change(
        zendesk_sandbox, escalated_ticket):
    events = []
    for number, as_text in ((1, False), (2, True), (3, False)):
        _comment(zendesk_sandbox, escalated_ticket, f"Change {number}")
        events.append(_webhook(escalated_ticket, f"inv-{number}", as_text=as_text))
    reads_before = _ticket_reads(zendesk_sandbox, escalated_ticket)

    for event in events:
        assert inbox.process(event.pk).status == InboundEvent.Status.PROCESSED

    assert _ticket_reads(zendesk_sandbox, escalated_ticket) - reads_before == 1
    assert {"Change 1", "Change 2", "Change 3"} <= _comments(escalated_ticket)


def test_a_change_made_after_a_webhook_left_its_read_to_a_later_one_is_read_too(
        zendesk_sandbox, escalated_ticket):
    _comment(zendesk_sandbox, escalated_ticket, "Change 1")
    first = _webhook(escalated_ticket, "inv-1")
    _comment(zendesk_sandbox, escalated_ticket, "Change 2")
    second = _webhook(escalated_ticket, "inv-2")
    inbox.process(first.pk)  # left to the second
    assert "Change 1" not in _comments(escalated_ticket)

    _comment(zendesk_sandbox, escalated_ticket, "Change 3")
    third = _webhook(escalated_ticket, "inv-3")
    inbox.process(second.pk)  # left to the third
    inbox.process(third.pk)

    assert {"Change 1", "Change 2", "Change 3"} <= _comments(escalated_ticket)


def test_a_webhook_taken_already_or_for_another_ticket_does_not_stand_in(
        zendesk_sandbox, escalated_ticket):
    [other] = zendesk_sandbox.add_tickets([ticket_spec(2)])
    _comment(zendesk_sandbox, escalated_ticket, "Change 1")
    earlier = _webhook(escalated_ticket, "inv-1")
    _webhook(other["id"], "inv-2")
    later = _webhook(escalated_ticket, "inv-3")
    InboundEvent.objects.filter(pk=later.pk).update(status=InboundEvent.Status.PROCESSING)
    reads_before = _ticket_reads(zendesk_sandbox, escalated_ticket)

    inbox.process(earlier.pk)

    assert _ticket_reads(zendesk_sandbox, escalated_ticket) - reads_before == 1
    assert "Change 1" in _comments(escalated_ticket)


def test_a_new_case_whose_webhook_waits_leaves_the_read_of_its_comments_to_it(
        db, zendesk_sandbox, monkeypatch, django_capture_on_commit_callbacks):
    waited_for, alone = zendesk_sandbox.add_tickets([ticket_spec(1), ticket_spec(2)])
    _comment(zendesk_sandbox, waited_for["id"], "Tier 2's note")
    webhook = _webhook(waited_for["id"], "inv-1")
    refreshed = []
    monkeypatch.setattr(tasks.refresh_zendesk_ticket, "delay", refreshed.append)
    monkeypatch.setattr(tasks.link_stripe_customer, "delay", lambda case_id: None)

    celery_app.conf.task_always_eager = True  # the fan-out task runs here, after commit
    try:
        with django_capture_on_commit_callbacks(execute=True):
            sync.sync_zendesk_once()
    finally:
        celery_app.conf.task_always_eager = False

    assert Case.objects.filter(zendesk_ticket_id__in=[waited_for["id"], alone["id"]]
                               ).count() == 2
    assert refreshed == [alone["id"]]
    inbox.process(webhook.pk)
    assert {"Message 1 from the customer.", "Tier 2's note"} <= _comments(waited_for["id"])

"""A case follows its ticket's life in Zendesk (`cases.lifecycle`), against the sandbox:
closed, merged, followed up, reopened by the customer, and written back to once closed."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.celery import app as celery_app
from billing_console.integrations.zendesk import gateway as zendesk
from cases import sync, tasks
from cases.models import Case, CaseEvent, ResolutionCode, State, SyncState, WriteBack
from cases.selectors import QueueFilters, case_queue
from cases.services import case_add_note, case_resolve, case_transition
from tests.cases.zendesk_sandbox import ticket_spec


@pytest.fixture
def follow_ups(monkeypatch):
    """The per-case work a sync page queues, kept instead of run: (comment reads, Stripe
    matches)."""
    refreshed, matched = [], []
    monkeypatch.setattr(tasks.refresh_zendesk_ticket, "delay", refreshed.append)
    monkeypatch.setattr(tasks.link_stripe_customer, "delay", matched.append)
    return refreshed, matched


def _sync(capture):
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the fan-out task runs after commit, here
    try:
        with capture(execute=True):
            return sync.sync_zendesk_once()
    finally:
        celery_app.conf.task_always_eager = eager


def _restart_export():
    SyncState.objects.filter(pk=1).update(cursor="")


def _put(sandbox, ticket_id, **fields):
    status, body = sandbox.call("PUT", f"/api/v2/tickets/{ticket_id}.json", {"ticket": fields})
    assert status == 200, body
    return body["ticket"]


def _merge(target_id, source_ids):
    job = zendesk.merge_tickets(target_id, source_ids,
                                source_comment=f"Closed and merged into request #{target_id}.")
    deadline = time.monotonic() + 5
    while not job.is_finished:
        assert time.monotonic() < deadline
        time.sleep(0.02)
        job = zendesk.get_job_status(job.id)
    assert job.status == "completed", job.message


def _queue_ids(viewer):
    page = case_queue(viewer=viewer, filters=QueueFilters.from_query({}))
    return [case.pk for case in page.cases]


def _page(user, case):
    client = Client()
    client.force_login(user)
    response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _system_state_changes(case):
    return list(AuditEvent.objects.filter(action="case.state_changed", case_id=case.pk)
                .order_by("pk").values_list("source", "before", "after"))


# --- closed in Zendesk ----------------------------------------------------------------------


def test_a_ticket_closed_in_zendesk_closes_its_case_once(
        db, zendesk_sandbox, follow_ups, django_capture_on_commit_callbacks):
    closing, staying = zendesk_sandbox.add_tickets([ticket_spec(1), ticket_spec(2)])
    _sync(django_capture_on_commit_callbacks)
    _put(zendesk_sandbox, closing["id"], status="closed")

    assert _sync(django_capture_on_commit_callbacks).closed == 1
    _restart_export()
    _sync(django_capture_on_commit_callbacks)

    case = Case.objects.get(zendesk_ticket_id=closing["id"])
    assert (case.state, case.zendesk_status, case.is_merged) == (State.CLOSED, "closed", False)
    assert case.resolved_at is not None
    [event] = case.events.filter(kind=CaseEvent.Kind.STATE)
    assert event.body == "The Zendesk ticket was closed; the case is closed."
    assert _system_state_changes(case) == [("system", {"state": State.NEW},
                                            {"state": State.CLOSED})]
    assert Case.objects.get(zendesk_ticket_id=staying["id"]).state == State.NEW


# --- merged ---------------------------------------------------------------------------------


def test_a_merged_tickets_case_leaves_the_queue_and_links_to_the_targets_case(
        db, zendesk_sandbox, follow_ups, specialist, django_capture_on_commit_callbacks):
    target, source = zendesk_sandbox.add_tickets([ticket_spec(1), ticket_spec(2)])
    _sync(django_capture_on_commit_callbacks)
    source_case = Case.objects.get(zendesk_ticket_id=source["id"])
    target_case = Case.objects.get(zendesk_ticket_id=target["id"])
    assert source_case.pk in _queue_ids(specialist)
    refreshed, _ = follow_ups
    refreshed.clear()

    _merge(target["id"], [source["id"]])
    assert _sync(django_capture_on_commit_callbacks).closed == 1

    source_case.refresh_from_db()
    assert (source_case.state, source_case.is_merged) == (State.CLOSED, True)
    assert source_case.pk not in _queue_ids(specialist)
    assert target_case.pk in _queue_ids(specialist)
    # The merge note, among the comments, names the target: the export leaves it to a read.
    assert refreshed == [source["id"]]
    sync.refresh_ticket(source["id"])
    sync.refresh_ticket(source["id"])  # a second webhook changes nothing more

    source_case.refresh_from_db()
    assert source_case.merged_into_ticket_id == target["id"]
    assert list(source_case.events.filter(kind=CaseEvent.Kind.SYNC)
                .values_list("body", flat=True)) == [
        f"Merged into Zendesk ticket #{target['id']}, a case here too"]
    [merged] = AuditEvent.objects.filter(action="case.merged", case_id=source_case.pk)
    assert (merged.source, merged.after) == ("system", {"merged_into_ticket_id": target["id"]})
    assert _system_state_changes(source_case) == [("system", {"state": State.NEW},
                                                   {"state": State.CLOSED})]
    page = _page(specialist, source_case)
    assert "Merged into" in page
    assert f'href="/cases/{target_case.pk}/"' in page
    assert f'href="/cases/{source_case.pk}/"' in _page(specialist, target_case)


def test_a_merge_seen_first_by_a_webhook_links_at_once(db, zendesk_sandbox, follow_ups,
                                                       django_capture_on_commit_callbacks):
    target, source = zendesk_sandbox.add_tickets([ticket_spec(1), ticket_spec(2)])
    _sync(django_capture_on_commit_callbacks)

    _merge(target["id"], [source["id"]])
    case = sync.refresh_ticket(source["id"])

    case.refresh_from_db()
    assert (case.state, case.merged_into_ticket_id) == (State.CLOSED, target["id"])
    [state] = case.events.filter(kind=CaseEvent.Kind.STATE)
    assert state.body == "The Zendesk ticket was merged into another ticket; the case is closed."


# --- follow-ups -----------------------------------------------------------------------------


def test_a_follow_up_ticket_becomes_a_case_linked_to_the_original(
        db, zendesk_sandbox, follow_ups, specialist, django_capture_on_commit_callbacks):
    [original] = zendesk_sandbox.add_tickets([ticket_spec(1)])
    _sync(django_capture_on_commit_callbacks)
    _put(zendesk_sandbox, original["id"], status="closed")
    _sync(django_capture_on_commit_callbacks)
    # Not escalated by its tags: it is a case because it carries on one.
    status, body = zendesk_sandbox.call("POST", "/api/v2/tickets.json", {"ticket": {
        "via_followup_source_id": original["id"], "tags": ["question"],
        "comment": {"body": "The refund still has not arrived."},
        "requester_id": original["requester_id"]}})
    assert status == 201
    [unrelated] = zendesk_sandbox.add_tickets([ticket_spec(3, escalated=False)])

    assert _sync(django_capture_on_commit_callbacks).created == 1
    _restart_export()
    _sync(django_capture_on_commit_callbacks)

    original_case = Case.objects.get(zendesk_ticket_id=original["id"])
    follow_up = Case.objects.get(zendesk_ticket_id=body["ticket"]["id"])
    assert follow_up.follow_up_of_ticket_id == original["id"]
    assert follow_up.state == State.NEW
    assert not Case.objects.filter(zendesk_ticket_id=unrelated["id"]).exists()
    assert list(follow_up.events.values_list("body", flat=True)) == [
        f"Follow-up of Zendesk ticket #{original['id']}, a case here too"]
    assert list(original_case.events.filter(kind=CaseEvent.Kind.SYNC)
                .values_list("body", flat=True)) == [
        f"Zendesk ticket #{follow_up.zendesk_ticket_id} follows this one up, a case here too"]
    page = _page(specialist, follow_up)
    assert "Follow-up of" in page
    assert f'href="/cases/{original_case.pk}/"' in page
    assert f'href="/cases/{follow_up.pk}/"' in _page(specialist, original_case)


# --- the customer's reply -------------------------------------------------------------------


def test_a_requesters_reply_to_a_solved_ticket_reopens_its_resolved_case(
        db, zendesk_sandbox, follow_ups, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1)])
    _sync(django_capture_on_commit_callbacks)
    case = Case.objects.get()
    with django_capture_on_commit_callbacks(execute=True):  # the write-back solves it
        case_resolve(case=case, code=ResolutionCode.REFUNDED, summary="Refunded the double",
                     actor=specialist)
    _sync(django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert (case.state, case.zendesk_status) == (State.RESOLVED, "solved")

    zendesk.add_public_reply(ticket["id"], "It is still charged twice!",
                             author_id=ticket["requester_id"])
    _sync(django_capture_on_commit_callbacks)

    case.refresh_from_db()
    assert (case.state, case.zendesk_status, case.resolved_at) == (
        State.IN_PROGRESS, "open", None)
    assert _system_state_changes(case) == [("system", {"state": State.RESOLVED},
                                            {"state": State.IN_PROGRESS})]


def test_a_reply_reopens_a_case_closed_by_hand_after_its_ticket_was_solved(
        db, zendesk_sandbox, follow_ups, specialist, django_capture_on_commit_callbacks):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1, status="solved")])
    _sync(django_capture_on_commit_callbacks)
    Case.objects.update(state=State.CLOSED)

    zendesk.add_public_reply(ticket["id"], "Wait, one more thing.",
                             author_id=ticket["requester_id"])
    _sync(django_capture_on_commit_callbacks)

    assert Case.objects.get().state == State.IN_PROGRESS


def test_a_customers_reply_moves_a_case_waiting_on_them_back_to_in_progress(
        db, zendesk_sandbox, follow_ups, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1)])
    _sync(django_capture_on_commit_callbacks)
    case = Case.objects.get()
    with django_capture_on_commit_callbacks(execute=True):  # the write-backs: pending
        case = case_transition(case=case, to_state=State.IN_PROGRESS, actor=specialist)
        case_transition(case=case, to_state=State.WAITING_CUSTOMER, actor=specialist)
    _sync(django_capture_on_commit_callbacks)
    assert Case.objects.get().state == State.WAITING_CUSTOMER

    zendesk.add_public_reply(ticket["id"], "Here is the invoice.",
                             author_id=ticket["requester_id"])
    _sync(django_capture_on_commit_callbacks)

    case.refresh_from_db()
    assert case.state == State.IN_PROGRESS
    assert case.events.filter(kind=CaseEvent.Kind.STATE).first().body == (
        "The customer replied: the ticket went back to open in Zendesk")


def test_an_agents_comment_on_a_solved_ticket_leaves_its_case_resolved(
        db, zendesk_sandbox, follow_ups, django_capture_on_commit_callbacks):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1, status="solved")])
    _sync(django_capture_on_commit_callbacks)

    zendesk.add_public_reply(ticket["id"], "Glad we could help.")
    _sync(django_capture_on_commit_callbacks)

    assert Case.objects.get().state == State.RESOLVED


# --- writing back to a closed ticket --------------------------------------------------------


@pytest.fixture
def closed_ticket_case(db, zendesk_sandbox):
    from tests.cases.factories import make_case

    ticket = zendesk_sandbox.create_ticket(subject="Charged twice", tags=["billing_escalation"])
    _put(zendesk_sandbox, ticket["id"], status="closed")
    return make_case(zendesk_ticket_id=ticket["id"], subject="Charged twice",
                     requester_zendesk_id=ticket["requester_id"], zendesk_status="closed")


def test_a_note_for_a_closed_ticket_goes_out_on_a_follow_up_and_is_not_retried(
        closed_ticket_case, zendesk_sandbox, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    case = closed_ticket_case
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case=case, body="Refund of 16.00 USD issued.", actor=specialist,
                      post_to_zendesk=True)

    write_back = WriteBack.objects.get()
    assert write_back.status == WriteBack.Status.FOLLOWED_UP, write_back.last_error
    follow_up = zendesk.get_ticket(write_back.follow_up_ticket_id)
    assert follow_up.ticket.follow_up_of == case.zendesk_ticket_id
    assert follow_up.ticket.requester_id == case.requester_zendesk_id
    assert "billing_console_follow_up" in follow_up.ticket.tags
    assert [(c.body, c.public) for c in follow_up.comments] == [
        ("Refund of 16.00 USD issued.", False)]
    # Not sent again, by the sweeper or a repeated message.
    WriteBack.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert tasks.resend_unsent_write_backs() == 0
    tasks.send_write_back.run(write_back.pk)
    assert WriteBack.objects.get().attempts == 1
    case.refresh_from_db()
    assert case.undelivered == ""
    assert case.events.filter(kind=CaseEvent.Kind.SYNC).get().body == (
        f"Zendesk ticket #{case.zendesk_ticket_id} is closed: the internal note went out as "
        f"follow-up ticket #{write_back.follow_up_ticket_id} instead")
    assert AuditEvent.objects.filter(action="case.write_back_followed_up",
                                     case_id=case.pk, source="system").count() == 1


def test_an_update_no_follow_up_can_carry_is_flagged_on_the_case_and_not_retried(
        closed_ticket_case, zendesk_sandbox, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    case = closed_ticket_case
    zendesk_sandbox.inject_fault(path="/api/v2/tickets.json", status=403, times=2)
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case=case, body="Refund of 16.00 USD issued.", actor=specialist,
                      post_to_zendesk=True)
        case_transition(case=case, to_state=State.IN_PROGRESS, actor=specialist)

    assert set(WriteBack.objects.values_list("status", flat=True)) == {
        WriteBack.Status.UNDELIVERABLE}
    case.refresh_from_db()
    assert "internal note: Refund of 16.00 USD issued." in case.undelivered
    assert "internal note: Billing Console: this case is in progress." in case.undelivered
    WriteBack.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert tasks.resend_unsent_write_backs() == 0
    assert AuditEvent.objects.filter(action="case.write_back_undeliverable",
                                     case_id=case.pk, outcome="failure").count() == 2
    page = _page(specialist, case)
    assert "Zendesk did not receive" in page
    assert "Refund of 16.00 USD issued." in page


def test_a_status_only_update_to_a_closed_ticket_is_flagged_without_a_follow_up(
        closed_ticket_case, zendesk_sandbox, eager_tasks, django_capture_on_commit_callbacks):
    from cases.services import write_back_queue

    with django_capture_on_commit_callbacks(execute=True):
        write_back_queue(closed_ticket_case, add_tags=["billing_console_resolved"],
                         zendesk_status="solved")

    assert WriteBack.objects.get().status == WriteBack.Status.UNDELIVERABLE
    closed_ticket_case.refresh_from_db()
    assert closed_ticket_case.undelivered.endswith(
        "status solved, tags billing_console_resolved")
    assert len(zendesk.search_escalated_tickets()) == 0  # no follow-up was made


def test_the_consoles_own_follow_up_is_no_new_case(
        closed_ticket_case, zendesk_sandbox, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case=closed_ticket_case, body="Refund of 16.00 USD issued.",
                      actor=specialist, post_to_zendesk=True)
    write_back = WriteBack.objects.get()

    _sync(django_capture_on_commit_callbacks)

    assert not Case.objects.filter(zendesk_ticket_id=write_back.follow_up_ticket_id).exists()


def test_a_markdown_note_goes_out_on_the_follow_up_as_html(
        closed_ticket_case, zendesk_sandbox, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case=closed_ticket_case, body="**Refund** of 16.00 USD.",
                      actor=specialist, post_to_zendesk=True)

    follow_up_id = WriteBack.objects.get().follow_up_ticket_id
    [first] = zendesk_sandbox.server.store.comments(follow_up_id)

    assert "<strong>Refund</strong>" in first["html_body"]


def test_a_note_for_a_merged_tickets_case_reaches_the_ticket_it_was_merged_into(
        db, zendesk_sandbox, follow_ups, specialist, eager_tasks,
        django_capture_on_commit_callbacks):
    target, source = zendesk_sandbox.add_tickets([ticket_spec(1), ticket_spec(2)])
    _sync(django_capture_on_commit_callbacks)
    _merge(target["id"], [source["id"]])
    _sync(django_capture_on_commit_callbacks)
    sync.refresh_ticket(source["id"])  # the merge note, read, names the target

    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case=Case.objects.get(zendesk_ticket_id=source["id"]),
                      body="Refund of 16.00 USD issued.", actor=specialist,
                      post_to_zendesk=True)

    assert WriteBack.objects.get().follow_up_ticket_id == target["id"]
    assert any("Refund of 16.00" in comment.body
               for comment in zendesk.get_ticket(target["id"]).comments)

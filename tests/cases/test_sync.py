"""Zendesk intake against the sandbox: the export becomes cases, page by page, exactly once."""

import threading
from datetime import timedelta

import pytest

from audit.models import AuditEvent
from billing_console.celery import app as celery_app
from billing_console.integrations.zendesk import gateway as zendesk
from cases import sync, tasks
from cases.models import (
    Case,
    CaseEvent,
    Category,
    IntakeRule,
    Priority,
    State,
    StripeLink,
    SyncState,
)
from tests.cases.zendesk_sandbox import STRIPE_FIELD_ID, ticket_spec

CATEGORY_TAGS = ("refund_request", "duplicate_charge", "invoice_dispute", "cancellation",
                 "tax_vat", "failed_payment", "question")
PRIORITIES = ("urgent", "high", "normal", "low", None)


def _mixed_specs(count):
    """Every fifth ticket is not escalated; every third names its Stripe customer."""
    specs = []
    for number in range(count):
        spec = ticket_spec(number, escalated=number % 5 != 0,
                           tags=[CATEGORY_TAGS[number % len(CATEGORY_TAGS)]],
                           priority=PRIORITIES[number % len(PRIORITIES)])
        if number % 3 == 0:
            spec["custom_fields"] = [{"id": STRIPE_FIELD_ID, "value": f"cus_T{number}"}]
        specs.append(spec)
    return specs


def _snapshot():
    return (list(Case.objects.order_by("pk").values()),
            list(CaseEvent.objects.order_by("pk").values()))


def _restart_export():
    SyncState.objects.filter(pk=1).update(cursor="")


@pytest.fixture
def escalated_250(zendesk_sandbox):
    return zendesk_sandbox.add_tickets(_mixed_specs(250))


def test_250_tickets_over_3_pages_become_the_right_cases_and_a_rerun_changes_nothing(
        db, zendesk_sandbox, escalated_250):
    run = sync.sync_zendesk_once(per_page=100)

    assert (run.pages, run.tickets, run.created, run.end_of_stream) == (3, 250, 200, True)
    escalated = [t for t in escalated_250 if "billing_escalation" in t["tags"]]
    assert sorted(Case.objects.values_list("zendesk_ticket_id", flat=True)) == \
        sorted(t["id"] for t in escalated)
    cancellation = Case.objects.get(zendesk_ticket_id=escalated_250[3]["id"])  # number 3
    assert cancellation.subject == "Billing question 3"
    assert (cancellation.requester_name, cancellation.requester_email) == (
        "Customer 3", "customer3@example.com")
    assert (cancellation.category, cancellation.priority) == (Category.PLAN_CHANGE,
                                                               Priority.LOW)
    assert cancellation.resolution_due - cancellation.zendesk_created_at == timedelta(hours=120)
    # Named on the ticket: verified once Stripe has it (the follow-up task checks).
    assert (cancellation.stripe_customer_id, cancellation.stripe_link) == (
        "cus_T3", StripeLink.NAMED)
    assert cancellation.state == State.NEW
    duplicate = Case.objects.get(zendesk_ticket_id=escalated_250[1]["id"])
    assert (duplicate.priority, duplicate.category) == (Priority.HIGH, Category.DUPLICATE_CHARGE)
    assert duplicate.first_response_due - duplicate.zendesk_created_at == timedelta(hours=4)
    assert duplicate.stripe_link == StripeLink.NONE

    before = _snapshot()
    _restart_export()
    again = sync.sync_zendesk_once(per_page=100)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 200)
    assert _snapshot() == before


def test_a_category_staff_set_survives_the_sync(db, zendesk_sandbox):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1, tags=["refund_request"])])
    sync.sync_zendesk_once()
    Case.objects.filter(zendesk_ticket_id=ticket["id"]).update(
        category=Category.TAX, category_set_by_staff=True)
    zendesk_sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json",
                         {"ticket": {"subject": "Refund, please"}})

    sync.sync_zendesk_once()
    case = Case.objects.get()
    assert (case.subject, case.category) == ("Refund, please", Category.TAX)


def test_a_deleted_ticket_closes_its_case_once(db, zendesk_sandbox):
    kept, deleted = zendesk_sandbox.add_tickets([ticket_spec(1), ticket_spec(2)])
    sync.sync_zendesk_once()
    status, _ = zendesk_sandbox.call("DELETE", f"/api/v2/tickets/{deleted['id']}.json")
    assert status == 204

    assert sync.sync_zendesk_once().closed == 1
    _restart_export()
    sync.sync_zendesk_once()

    closed = Case.objects.get(zendesk_ticket_id=deleted["id"])
    assert (closed.state, closed.zendesk_status) == (State.CLOSED, "deleted")
    assert list(closed.events.values_list("kind", flat=True)) == [CaseEvent.Kind.SYNC]
    assert Case.objects.get(zendesk_ticket_id=kept["id"]).state == State.NEW
    [audited] = AuditEvent.objects.filter(action="case.state_changed", case_id=closed.pk)
    assert (audited.source, audited.after) == ("system", {"state": State.CLOSED})


def test_a_429_in_the_middle_of_the_export_resumes_with_nothing_lost_or_doubled(
        db, zendesk_sandbox, escalated_250, monkeypatch):
    monkeypatch.setattr(sync, "PAGE_SIZE", 100)
    real_export = zendesk.export_tickets_page
    calls = []

    def export_then_rate_limit(**position):
        calls.append(position)
        page = real_export(**position)
        if len(calls) == 1:  # Zendesk's limit strikes on the second page
            zendesk_sandbox.inject_fault(status=429, retry_after=7)
        return page

    monkeypatch.setattr(zendesk, "export_tickets_page", export_then_rate_limit)
    countdowns = []
    real_retry = tasks.sync_zendesk.retry

    def recorded_retry(*args, **kwargs):
        countdowns.append(kwargs.get("countdown"))
        return real_retry(*args, **kwargs)

    monkeypatch.setattr(tasks.sync_zendesk, "retry", recorded_retry)

    tasks.sync_zendesk.apply()  # eager: the retry runs at once instead of in 7 s

    assert countdowns == [7]
    state = SyncState.objects.get()
    assert "rate limit" in state.last_error and state.last_success_at > state.last_error_at
    assert Case.objects.count() == 200
    positions = [c.get("cursor", "start") for c in calls]
    # start, page 2 (429), page 2 again, page 3: the start is read once, page 2 twice.
    assert positions[0] == "start" and positions.count("start") == 1
    assert positions[1] == positions[2] and len(positions) == 4


def test_a_crash_between_fetching_a_page_and_committing_it_replays_that_page(
        db, zendesk_sandbox, escalated_250, monkeypatch):
    real_save = sync._save_position
    saves = []

    def crash_on_second_page(**position):
        saves.append(position)
        if len(saves) == 2:
            raise RuntimeError("worker killed before commit")
        real_save(**position)

    monkeypatch.setattr(sync, "_save_position", crash_on_second_page)
    with pytest.raises(RuntimeError):
        sync.sync_zendesk_once(per_page=100)

    first_page = [t for t in escalated_250[:100] if "billing_escalation" in t["tags"]]
    assert Case.objects.count() == len(first_page)  # the second page was rolled back
    assert SyncState.objects.get().cursor == saves[0]["cursor"]

    monkeypatch.setattr(sync, "_save_position", real_save)
    run = sync.sync_zendesk_once(per_page=100)
    assert (run.pages, run.created) == (2, 200 - len(first_page))
    assert Case.objects.count() == 200
    assert zendesk_sandbox.export_requests()[1] == zendesk_sandbox.export_requests()[2]


def test_a_resolved_case_reopens_when_the_customer_replies(db, zendesk_sandbox):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1)])
    path = f"/api/v2/tickets/{ticket['id']}.json"
    sync.sync_zendesk_once()
    Case.objects.update(state=State.RESOLVED)  # resolved in the console ...
    sync.sync_zendesk_once()
    assert Case.objects.get().state == State.RESOLVED  # ... while the ticket is still open
    zendesk_sandbox.call("PUT", path, {"ticket": {"status": "solved"}})  # the write-back
    sync.sync_zendesk_once()
    assert Case.objects.get().state == State.RESOLVED

    zendesk_sandbox.call("PUT", path, {"ticket": {"status": "open", "comment": {
        "body": "Still charged twice!", "author_id": ticket["requester_id"]}}})
    sync.sync_zendesk_once()
    _restart_export()
    sync.sync_zendesk_once()

    case = Case.objects.get()
    assert case.state == State.IN_PROGRESS
    assert case.events.filter(kind=CaseEvent.Kind.STATE).count() == 1
    [audited] = AuditEvent.objects.filter(action="case.state_changed", case_id=case.pk)
    assert audited.before == {"state": State.RESOLVED}


def test_the_rule_can_take_a_group_or_every_ticket(db, zendesk_sandbox):
    billing_group = 360000000402
    zendesk_sandbox.add_tickets([ticket_spec(1, escalated=False, group_id=billing_group),
                                 ticket_spec(2, escalated=False)])
    IntakeRule.objects.filter(pk=1).update(match=IntakeRule.Match.GROUP, group_id=billing_group)
    assert sync.sync_zendesk_once().created == 1

    IntakeRule.objects.filter(pk=1).update(match=IntakeRule.Match.ALL)
    _restart_export()
    assert sync.sync_zendesk_once().created == 1
    assert Case.objects.count() == 2


def test_two_runs_never_overlap(transactional_db, zendesk_sandbox):
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        from django.db import connection

        with sync._sync_lock() as held:
            assert held
            holding.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(sync.SyncAlreadyRunning):
            sync.sync_zendesk_once()
        assert tasks.sync_zendesk.apply().result is None  # the task just skips its turn
    finally:
        release.set()
        holder.join()
    assert sync.sync_zendesk_once().end_of_stream


def test_sync_health_reports_lag_and_a_failure_newer_than_the_last_success(db):
    now = sync.timezone.now()
    SyncState.objects.filter(pk=1).update(
        last_run_at=now, last_success_at=now - timedelta(minutes=5),
        newest_ticket_updated_at=now - timedelta(minutes=7),
        last_error="ZendeskTransientError: rate limit", last_error_at=now)

    health = sync.sync_health(now=now)

    assert health.lag == timedelta(minutes=7)
    assert health.failing and "rate limit" in health.last_error


def test_new_cases_leave_their_comments_and_stripe_matching_to_a_task_each(
        db, zendesk_sandbox, monkeypatch, django_capture_on_commit_callbacks):
    named, unnamed = zendesk_sandbox.add_tickets([
        ticket_spec(1, custom_fields=[{"id": STRIPE_FIELD_ID, "value": "cus_Named"}]),
        ticket_spec(2)])
    refreshed, matched = [], []
    monkeypatch.setattr(tasks.refresh_zendesk_ticket, "delay", refreshed.append)
    monkeypatch.setattr(tasks.link_stripe_customer, "delay", matched.append)

    celery_app.conf.task_always_eager = True  # the fan-out task runs here, after commit
    try:
        with django_capture_on_commit_callbacks(execute=True):
            sync.sync_zendesk_once()
    finally:
        celery_app.conf.task_always_eager = False

    assert sorted(refreshed) == sorted([named["id"], unnamed["id"]])
    # The named customer is checked in Stripe, the other matched by email: a task each.
    assert sorted(matched) == sorted(Case.objects.filter(
        zendesk_ticket_id__in=[named["id"], unnamed["id"]]).values_list("pk", flat=True))

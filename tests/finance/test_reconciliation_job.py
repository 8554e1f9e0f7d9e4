"""Reconciliation as a job: a run works through its period a day at a time, with its
progress on the row; a change seen on two days is stored once; a task delivered again
resumes without duplicating; Stripe not answering is retried, Stripe refusing fails the
run with what to do; and a month of refunds, credit notes, invoice status changes and
balance transactions, made in the console and outside it on different days, is reported
exactly as it was made. A real Celery worker (on Redis) runs one from the page's request.

The sandbox's clock is set back (`at`) to make changes on the days of last month: the
sandbox dates what it creates by its clock, as Stripe does."""

import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.celery import app as celery_app
from billing_console.integrations.stripe.sandbox import build_server
from billing_console.integrations.stripe.sandbox.builders import create_customer, open_invoice
from cases.models import StripeLink
from finance import reconciliation
from finance.models import Match, ReconciliationItem, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import reconciliation_job, reconciliation_request
from finance.tasks import run_reconciliation
from money_actions.models import MoneyAction, State
from tests.cases.factories import make_case
from tests.contract.stripe.conftest import API_KEY, Sandbox, start_in_thread, stop
from tests.credit_memos.conftest import memo_body, post_memo
from tests.finance.test_reconciliation import (
    ADJUSTMENTS,
    LINES,
    adjustment,
    console_refund,
    external_refund,
)
from tests.refunds.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


class ClockedSandbox(Sandbox):
    """A Stripe sandbox of the test's own whose clock can be set."""

    def __init__(self, server):
        self.server = server
        super().__init__(start_in_thread(server))

    @contextmanager
    def at(self, moment):
        """What the sandbox creates in the block is dated `moment` (an aware datetime)."""
        self.server.state.now = lambda: int(moment.timestamp())
        try:
            yield
        finally:
            del self.server.state.now


@pytest.fixture
def sandbox(settings):
    sandbox = ClockedSandbox(build_server("127.0.0.1", 0))
    settings.STRIPE_API_BASE, settings.STRIPE_API_KEY = sandbox.url, API_KEY
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    yield sandbox
    stop(sandbox.server)


@pytest.fixture(autouse=True)
def default_policy(refund_policy):
    """Console actions run under the seeded money policy."""


@pytest.fixture
def customer(sandbox):
    return create_customer(sandbox.client, name="Grace", email="grace@example.com",
                           payment_method="pm_card_visa")


@pytest.fixture
def case(customer):
    return make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)


def last_month():
    first_of_this = timezone.now().date().replace(day=1)
    last = first_of_this - timedelta(days=1)
    return Period(last.replace(day=1), last)


def on(day, hour=12, minute=0, second=0):
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def settled(action, moment):
    """The console recorded the action as done at `moment`, as it would have then."""
    MoneyAction.objects.filter(pk=action.pk).update(settled_at=moment)


def adjustment_of(case, kind, **fields):
    return {"case_id": case.pk, "kind": kind, "reason_code": "billing_error",
            "note": "Agreed with the customer.", **fields}


def keys(run):
    return {(item.object_type, item.stripe_object_id, item.invoice_status, item.match)
            for item in run.items.all()}


def assert_counts_are_the_items(run):
    run.refresh_from_db()
    for match in Match:
        assert run.count_of(match) == run.items.filter(match=match).count(), match


# The month ---------------------------------------------------------------------------------


def test_a_month_made_in_and_outside_the_console_is_reported_as_it_was_made(
        sandbox, customer, case, specialist, eager_tasks):
    month = last_month()
    day = month.since
    expected = set()
    # Refunds: one from the console on the 2nd, one in the Dashboard on the 3rd.
    with sandbox.at(on(day + timedelta(days=1))):
        refund = console_refund(sandbox, specialist, case)
    settled(refund, on(day + timedelta(days=1), second=5))
    expected.add(("refund", refund.stripe_object_id, "", Match.MATCHED))
    with sandbox.at(on(day + timedelta(days=2))):
        outside_refund = external_refund(sandbox, case)
    expected.add(("refund", outside_refund.id, "", Match.STRIPE_ONLY))
    # Credit notes: a console memo on the 4th, a Dashboard note on the 5th.
    with sandbox.at(on(day + timedelta(days=3))):
        invoices = [open_invoice(sandbox.client, customer=customer.id, lines=LINES)
                    for _ in range(5)]
        memo = post_memo(specialist, memo_body(case, invoices[0]))
    assert memo.status_code == 201, memo.json()
    memo_action = MoneyAction.objects.get(pk=memo.json()["id"])
    settled(memo_action, on(day + timedelta(days=3), second=5))
    expected.add(("credit_note", memo_action.stripe_object_id, "", Match.MATCHED))
    with sandbox.at(on(day + timedelta(days=4))):
        note = sandbox.client.v1.credit_notes.create(params={"invoice": invoices[1].id,
                                                             "amount": 1_500})
    expected.add(("credit_note", note.id, "", Match.STRIPE_ONLY))
    # Invoice status changes: a console void just before midnight that the console
    # settled just after it (seen on two days, stored once), a Dashboard void, and a
    # console write-off.
    with sandbox.at(on(day + timedelta(days=5), 23, 59, 59)):
        void = MoneyAction.objects.get(pk=post_memo(
            specialist, adjustment(case, "invoice_void", invoices[2]), ADJUSTMENTS
        ).json()["id"])
    assert void.state == State.SUCCEEDED
    settled(void, on(day + timedelta(days=6), 0, 0, 5))
    expected.add(("invoice_status", invoices[2].id, "void", Match.MATCHED))
    with sandbox.at(on(day + timedelta(days=6))):
        sandbox.client.v1.invoices.void_invoice(invoices[3].id)
        write_off = MoneyAction.objects.get(pk=post_memo(
            specialist, adjustment(case, "invoice_uncollectible", invoices[4]), ADJUSTMENTS
        ).json()["id"])
    settled(write_off, on(day + timedelta(days=6), second=5))
    expected |= {("invoice_status", invoices[3].id, "void", Match.STRIPE_ONLY),
                 ("invoice_status", invoices[4].id, "uncollectible", Match.MATCHED)}
    # Balance transactions: a console credit on the 8th; a Dashboard debit on the 9th for
    # a customer the console never touched (no webhook told it: Stripe's events do).
    with sandbox.at(on(day + timedelta(days=7))):
        credit = MoneyAction.objects.get(pk=post_memo(specialist, adjustment_of(
            case, "balance_credit", amount=1_200, currency="usd",
            description="Goodwill"), ADJUSTMENTS).json()["id"])
    assert credit.state == State.SUCCEEDED
    settled(credit, on(day + timedelta(days=7), second=5))
    expected.add(("balance_transaction", credit.stripe_object_id, "", Match.MATCHED))
    stranger = create_customer(sandbox.client, name="Hal", email="hal@example.com")
    with sandbox.at(on(day + timedelta(days=8))):
        debit = sandbox.client.v1.customers.balance_transactions.create(
            stranger.id, params={"amount": 3_000, "currency": "usd"})
    expected.add(("balance_transaction", debit.id, "", Match.STRIPE_ONLY))
    # Today, outside the month: not in the report.
    external_refund(sandbox, case)

    run = reconciliation_job(reconciliation_request(period=month, queue=False).pk)

    assert keys(run) == expected
    assert (run.status, run.days_done, run.days_total) == ("done", month.days, month.days)
    assert (run.matched_count, run.stripe_only_count) == (5, 4)
    assert_counts_are_the_items(run)
    by_id = {item.stripe_object_id: item for item in run.items.all()}
    assert (by_id[debit.id].stripe_amount, by_id[credit.stripe_object_id].stripe_amount) == (
        3_000, 1_200)
    assert by_id[invoices[2].id].money_action_id == void.pk


# Progress and redelivery -------------------------------------------------------------------


def test_a_run_stores_each_day_as_it_is_done(sandbox, case, monkeypatch):
    today = timezone.now().date()
    with sandbox.at(on(today - timedelta(days=2))):
        first = external_refund(sandbox, case)
    with sandbox.at(on(today - timedelta(days=1))):
        second = external_refund(sandbox, case)
    run = reconciliation_request(period=Period(today - timedelta(days=2), today), queue=False)
    seen = []
    compare = reconciliation.compare

    def watched(period, **kwargs):
        current = ReconciliationRun.objects.get(pk=run.pk)
        seen.append((current.status, current.days_done, current.items.count()))
        return compare(period, **kwargs)

    monkeypatch.setattr(reconciliation, "compare", watched)

    done = reconciliation_job(run.pk)

    assert seen == [("running", 0, 0), ("running", 1, 1), ("running", 2, 2)]
    assert (done.status, done.days_done, done.percent) == ("done", 3, 100)
    assert {item.stripe_object_id for item in done.items.all()} == {first.id, second.id}


class WorkerLost(BaseException):
    """A worker killed part way: nothing after it runs in that process."""


def test_a_task_delivered_again_after_a_lost_worker_resumes_without_duplicates(
        sandbox, case, specialist, eager_tasks, monkeypatch):
    today = timezone.now().date()
    refund = console_refund(sandbox, specialist, case)
    # Settled after midnight: the next day looks it up again.
    settled(refund, on(today + timedelta(days=1), 0, 0, 5))
    outside = external_refund(sandbox, case)
    run = reconciliation_request(period=Period(today, today + timedelta(days=1)),
                                 queue=False)
    compare, calls = reconciliation.compare, []

    def dies_on_the_second_day(period, **kwargs):
        calls.append(period.since)
        if len(calls) == 2:
            raise WorkerLost
        return compare(period, **kwargs)

    monkeypatch.setattr(reconciliation, "compare", dies_on_the_second_day)
    with pytest.raises(WorkerLost):
        run_reconciliation.apply(args=[run.pk])
    run.refresh_from_db()
    assert (run.status, run.days_done, run.items.count()) == ("running", 1, 2)

    monkeypatch.setattr(reconciliation, "compare", compare)
    result = run_reconciliation.apply(args=[run.pk]).get()

    run.refresh_from_db()
    assert result["status"] == "done" and run.status == "done"
    assert keys(run) == {("refund", refund.stripe_object_id, "", Match.MATCHED),
                         ("refund", outside.id, "", Match.STRIPE_ONLY)}
    assert_counts_are_the_items(run)
    assert AuditEvent.objects.filter(action="reconciliation.run").count() == 1


def test_a_second_delivery_running_alongside_stops_at_the_day_the_first_stored(sandbox, case):
    external_refund(sandbox, case)
    today = timezone.now().date()
    run = reconciliation_request(period=Period(today, today), queue=False)
    reconciliation._begin(run.pk)
    pairs = reconciliation.compare(Period(today, today))

    assert reconciliation._store_day(run.pk, 0, pairs) is not None
    assert reconciliation._store_day(run.pk, 0, pairs) is None
    assert ReconciliationItem.objects.filter(run=run).count() == 1


def test_a_finished_run_delivered_again_changes_nothing(sandbox, case):
    external_refund(sandbox, case)
    today = timezone.now().date()
    run = reconciliation_request(period=Period(today, today), queue=False)
    reconciliation_job(run.pk)
    requests = len(sandbox.requests_to("/v1/refunds"))

    assert run_reconciliation.apply(args=[run.pk]).get() == {"run": run.pk, "status": "left"}
    assert len(sandbox.requests_to("/v1/refunds")) == requests
    assert ReconciliationItem.objects.filter(run=run).count() == 1


# Stripe's errors ---------------------------------------------------------------------------


def test_stripe_not_answering_for_a_while_is_retried_and_the_run_completes(sandbox, case,
                                                                           eager_tasks):
    outside = external_refund(sandbox, case)
    # The SDK's own two retries are spent, once; the task's retry gets through.
    sandbox.inject("/v1/refunds", 500, count=3)
    today = timezone.now().date()

    result = run_reconciliation.apply(args=[reconciliation_request(
        period=Period(today, today), queue=False).pk]).get()

    run = ReconciliationRun.objects.get()
    assert result["status"] == "done"
    assert (run.status, run.error) == ("done", "")
    assert keys(run) == {("refund", outside.id, "", Match.STRIPE_ONLY)}


def test_stripe_refusing_the_key_fails_the_run_with_what_to_do(sandbox, settings):
    today = timezone.now().date()
    run = reconciliation_request(period=Period(today, today), queue=False)
    settings.STRIPE_API_KEY = "rk_live_not_a_test_key"

    assert run_reconciliation.apply(args=[run.pk]).get()["status"] == "failed"

    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert "Check the console's Stripe key" in run.error


# A real worker -----------------------------------------------------------------------------


@pytest.mark.redis
def test_a_real_worker_runs_the_reconciliation_the_page_asked_for(sandbox, case, finance):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: set REDIS_URL to run a real worker")
    outside = external_refund(sandbox, case)
    today = timezone.now().date()
    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        response = signed_in(finance).post("/audit/reconciliation/run/", {
            "start": str(today - timedelta(days=2)), "end": str(today)})
        run = ReconciliationRun.objects.get()
        deadline = time.monotonic() + 30
        while run.status != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
            run.refresh_from_db()

    assert response.status_code == 302
    assert (run.status, run.days_done) == ("done", 3)
    assert keys(run) == {("refund", outside.id, "", Match.STRIPE_ONLY)}

"""Finance in Chromium reconciles last month with Stripe: the form asks for the run, a real
Celery worker runs it a day at a time while the report's progress bar advances, and two
refunds made directly in Stripe last month are explained together, with one note."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.celery import app as celery_app
from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from finance import reconciliation
from finance.models import ReconciliationItem, ReconciliationRun
from tests.cases.case_page_sandboxes import StripeSandbox

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Two goodwill refunds the team lead made in the Dashboard; agreed on the call."
# Each day's Stripe reads take this much longer, so that a month takes a few seconds and
# the page polls (every second) while the run goes on.
SLOWER_DAY_SECONDS = 0.12


def last_month():
    first_of_this = timezone.now().date().replace(day=1)
    last = first_of_this - timedelta(days=1)
    return last.replace(day=1), last


@pytest.fixture
def stripe(settings):
    sandbox = StripeSandbox()
    sandbox.point(settings)
    yield sandbox
    sandbox.stop()


def refund_made_on(stripe, customer, moment, amount):
    """A refund made directly in Stripe at `moment`, by the sandbox's clock."""
    stripe.server.state.now = lambda: int(moment.timestamp())
    try:
        charged = charge(stripe.client, customer=customer, amount=9_000)
        return stripe.client.v1.refunds.create(params={"charge": charged, "amount": amount})
    finally:
        del stripe.server.state.now


@pytest.fixture
def slower_days(monkeypatch):
    compare = reconciliation.stripe_changes

    def slower(period):
        time.sleep(SLOWER_DAY_SECONDS)
        return compare(period)

    monkeypatch.setattr(reconciliation, "stripe_changes", slower)


@pytest.fixture
def worker():
    """A real Celery worker, in a thread of this process, on Redis (the filesystem
    broker's folder under var/ is shared with whatever else runs from this checkout)."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: set REDIS_URL to run a real worker")
    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def test_finance_reconciles_last_month_watches_it_and_explains_two_refunds_at_once(
        stripe, actors, slower_days, worker, page, sign_in):
    start, end = last_month()
    customer = create_customer(stripe.client, name="Dana", email="dana@example.com").id
    first = refund_made_on(stripe, customer, datetime(start.year, start.month, 3, 9,
                                                      tzinfo=UTC), 3_000)
    second = refund_made_on(stripe, customer, datetime(end.year, end.month, end.day, 22,
                                                       tzinfo=UTC), 4_500)
    sign_in("finance")

    page.goto("/audit/reconciliation/")
    page.fill("input[name=start]", start.isoformat())
    page.fill("input[name=end]", end.isoformat())
    page.click("#reconcile-form button[type=submit]")
    page.wait_for_url("**/audit/reconciliation/*/")

    days = (end - start).days + 1
    bar = page.locator("#reconciliation-progress progress")
    seen, deadline = set(), time.monotonic() + 60
    while time.monotonic() < deadline:
        if page.locator("#reconciliation-live[data-status=done]").count():
            break
        if bar.count():
            seen.add(int(bar.get_attribute("value")))
        time.sleep(0.1)
    assert page.locator("#reconciliation-live").get_attribute("data-status") == "done"
    assert bar.get_attribute("value") == str(days) == bar.get_attribute("max")
    assert any(0 < value < days for value in seen), seen
    assert f"Done: all {days} days reconciled." in page.locator("#progress-text").inner_text()

    for refund in (first, second):
        row = page.locator(f"tr[data-stripe-id='{refund.id}']")
        assert row.get_attribute("data-class") == "stripe_only"
        row.locator("input[type=checkbox]").check()
    page.fill("#explain-note", NOTE)
    page.click("#explain-form button[type=submit]")
    page.wait_for_load_state()

    assert "2 differences are explained" in page.locator("main").inner_text()
    for refund in (first, second):
        assert NOTE in page.locator(f"tr[data-stripe-id='{refund.id}'] td.explanation"
                                    ).inner_text()
    run = ReconciliationRun.objects.get()
    assert (run.period_start, run.period_end, run.status) == (start, end, "done")
    assert not ReconciliationItem.objects.filter(run=run, explained_at__isnull=True).exists()
    events = AuditEvent.objects.filter(action="reconciliation.explained")
    assert sorted(event.stripe_object_id for event in events) == sorted([first.id,
                                                                         second.id])
    assert {(event.reason, event.actor_username) for event in events} == {(NOTE, "finance")}
    assert page.console_errors == []

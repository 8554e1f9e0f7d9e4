"""Several differences explained at once, with one note: from the report's checkboxes,
all or none, one audit event per difference, and the same differences in other runs
explained with them."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe.sandbox.builders import create_customer
from cases.models import StripeLink
from finance.models import Match, ReconciliationItem, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import (
    reconciliation_item_explain,
    reconciliation_items_explain,
    reconciliation_job,
    reconciliation_request,
)
from tests.cases.factories import make_case
from tests.finance.test_reconciliation import (
    console_refund,
    external_refund,
    page,
    reconcile,
)
from tests.refunds.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Goodwill refunds the team lead made in the Dashboard."
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: row locks between explainers (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def default_policy(refund_policy):
    """Console actions run under the seeded money policy."""


@pytest.fixture
def case(sandbox):
    customer = create_customer(sandbox.client, name="Ida", email="ida@example.com",
                               payment_method="pm_card_visa")
    return make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)


def explain_url(run):
    return f"/audit/reconciliation/{run.pk}/explain/"


@pytest.fixture
def two_outside(sandbox, case):
    """A run with two refunds made outside the console: two differences."""
    external_refund(sandbox, case, amount=700)
    external_refund(sandbox, case, amount=900)
    run = reconcile()
    return run, list(run.items.order_by("pk"))


def test_finance_explains_two_differences_with_one_note(two_outside, finance):
    run, items = two_outside
    client = signed_in(finance)
    report = page(client, f"/audit/reconciliation/{run.pk}/")
    assert 'id="explain-form"' in report
    assert all(f'id="choose-{item.pk}"' in report for item in items)

    response = client.post(explain_url(run), {"item": [item.pk for item in items],
                                              "note": NOTE, "shown": "stripe_only"})

    assert response.status_code == 302
    assert response["Location"] == f"/audit/reconciliation/{run.pk}/?class=stripe_only"
    for item in items:
        item.refresh_from_db()
        assert (item.explained_by, item.explanation) == (finance, NOTE)
    events = AuditEvent.objects.filter(action="reconciliation.explained").order_by("id")
    assert [event.stripe_object_id for event in events] == [
        item.stripe_object_id for item in items]
    assert {event.reason for event in events} == {NOTE}
    assert {(event.amount, event.actor) for event in events} == {(700, finance),
                                                                 (900, finance)}
    assert all(event.after["explained_together"] == [item.pk for item in items]
               for event in events)
    assert "2 differences are explained" in page(client, response["Location"])
    assert "nothing waiting for an explanation" in page(client, "/approvals/")


def test_a_matched_item_among_the_chosen_explains_none(sandbox, case, specialist, finance,
                                                       eager_tasks):
    console_refund(sandbox, specialist, case)
    external_refund(sandbox, case)
    run = reconcile()
    matched = run.items.get(match=Match.MATCHED)
    outside = run.items.get(match=Match.STRIPE_ONLY)

    response = signed_in(finance).post(explain_url(run), {
        "item": [outside.pk, matched.pk], "note": NOTE}, follow=True)

    html = response.content.decode()
    assert "A matched item needs no explanation." in html and matched.stripe_object_id in html
    assert not ReconciliationItem.objects.filter(explained_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="reconciliation.explained").exists()


def test_an_already_explained_difference_among_the_chosen_explains_none(two_outside,
                                                                        finance):
    run, (first, second) = two_outside
    reconciliation_items_explain(item_ids=[first.pk], note="Earlier.", actor=finance)

    response = signed_in(finance).post(explain_url(run), {
        "item": [first.pk, second.pk], "note": NOTE}, follow=True)

    assert "is already explained" in response.content.decode()
    second.refresh_from_db()
    assert second.explained_at is None


@pytest.mark.parametrize("body, message", [
    ({"note": NOTE}, "Choose at least one difference to explain."),
    ({"note": NOTE, "item": ["x", "-1"]}, "Choose at least one difference to explain."),
    ({"note": "  ", "item": "FIRST"}, "A note is required"),
    ({"note": "x" * 5_001, "item": "FIRST"}, "The note is too long"),
])
def test_a_bad_explanation_is_a_message_and_explains_nothing(two_outside, finance, body,
                                                             message):
    run, items = two_outside
    body = {**body, "item": items[0].pk} if body.get("item") == "FIRST" else body

    response = signed_in(finance).post(explain_url(run), body, follow=True)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ReconciliationItem.objects.filter(explained_at__isnull=False).exists()


def test_an_item_of_another_run_cannot_be_explained_from_this_report(two_outside, finance):
    run, items = two_outside
    other = reconciliation_request(period=Period(run.period_start, run.period_start),
                                   queue=False)

    response = signed_in(finance).post(explain_url(other), {
        "item": [items[0].pk], "note": NOTE}, follow=True)

    assert "not in this report" in response.content.decode()
    items[0].refresh_from_db()
    assert items[0].explained_at is None


def test_the_same_differences_in_other_runs_are_explained_with_them(two_outside, finance):
    older, items = two_outside
    newer = reconcile()

    reconciliation_items_explain(item_ids=[item.pk for item in newer.items.all()],
                                 note=NOTE, actor=finance)

    assert not ReconciliationItem.objects.filter(explained_at__isnull=True).exists()
    event = AuditEvent.objects.filter(action="reconciliation.explained").first()
    assert len(event.after["items"]) == 2  # this run's item and the older run's
    assert older.pk != newer.pk


def test_a_run_still_going_shows_its_items_and_is_explained_once_done(sandbox, case,
                                                                      finance):
    external_refund(sandbox, case)
    today = timezone.now().date()
    run = reconciliation_request(period=Period(today, today), queue=False)
    ReconciliationRun.objects.filter(pk=run.pk).update(status="running")
    client = signed_in(finance)

    going = page(client, f"/audit/reconciliation/{run.pk}/")
    assert 'hx-trigger="every 1s"' in going and 'id="explain-form"' not in going
    assert "0 of 1 day reconciled" in going

    done = reconciliation_job(run.pk)
    live = client.get(f"/audit/reconciliation/{done.pk}/", HTTP_HX_REQUEST="true")
    html = live.content.decode()
    assert 'id="reconciliation-live"' in html
    assert "hx-trigger" not in html and 'id="explain-form"' in html
    assert "<h1>" not in html


# Only finished runs, and one explainer at a time ----------------------------------------


def run_with_difference(status=ReconciliationRun.Status.DONE, stripe_id="re_outside"):
    """A run of today (written as it stands, no Stripe read) whose one item is a refund in
    Stripe only."""
    today = timezone.now().date()
    finished = status in (ReconciliationRun.Status.DONE, ReconciliationRun.Status.FAILED)
    run = ReconciliationRun.objects.create(
        period_start=today, period_end=today, status=status, days_total=1,
        days_done=1 if status == ReconciliationRun.Status.DONE else 0,
        finished_at=timezone.now() if finished else None)
    item = ReconciliationItem.objects.create(
        run=run, object_type="refund", stripe_object_id=stripe_id, match=Match.STRIPE_ONLY,
        stripe_amount=700, currency="usd", happened_at=timezone.now())
    return run, item


@pytest.mark.parametrize("status", ["queued", "running"])
def test_the_differences_of_a_run_still_going_are_not_explained(finance, status):
    run, item = run_with_difference(status)

    with pytest.raises(ApplicationError) as refused:
        reconciliation_items_explain(item_ids=[item.pk], note=NOTE, actor=finance)

    assert (refused.value.code, refused.value.status) == ("run_not_done", 409)
    assert "explained once the run is done" in refused.value.message
    item.refresh_from_db()
    assert item.explained_at is None
    assert not AuditEvent.objects.filter(action="reconciliation.explained").exists()


def test_a_failed_runs_differences_are_explained(finance):
    """A failed run is finished: its differences are flagged, so they can be explained."""
    run, item = run_with_difference(ReconciliationRun.Status.FAILED)

    [explained] = reconciliation_items_explain(item_ids=[item.pk], note=NOTE, actor=finance)

    assert explained.explanation == NOTE


@pytest.mark.parametrize("bulk", [True, False], ids=["several", "one"])
def test_both_explain_pages_say_a_run_still_going_is_explained_once_done(finance, bulk):
    run, item = run_with_difference(ReconciliationRun.Status.RUNNING)
    url = (explain_url(run) if bulk
           else f"/audit/reconciliation/items/{item.pk}/explain/")

    response = signed_in(finance).post(url, {"item": [item.pk], "note": NOTE}, follow=True)

    assert response.status_code == 200
    assert "explained once the run is done" in response.content.decode()
    item.refresh_from_db()
    assert item.explained_at is None
    assert not AuditEvent.objects.filter(action="reconciliation.explained").exists()


def pausing_after_the_first_item_lock(barrier):
    """A query wrapper: once this connection's first `SELECT ... FOR UPDATE` of items has
    its locks, wait (a while at most) for the other thread to have its own: two
    explainers that lock in two steps then hold one lock each and want the other's."""
    paused = False

    def wrapper(execute, sql, params, many, context):
        nonlocal paused
        result = execute(sql, params, many, context)
        if not paused and "FOR UPDATE" in sql and "audit_reconciliationitem" in sql:
            paused = True
            # Broken: the other is waiting for this one's locks; go on.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)
        return result

    return wrapper


@needs_postgres
@pytest.mark.postgres
def test_one_difference_explained_from_two_runs_at_once_is_explained_once(finance):
    first_run, first = run_with_difference(stripe_id="re_both")
    second_run, second = run_with_difference(stripe_id="re_both")
    barrier = threading.Barrier(2)

    def explain(item, note):
        try:
            with connection.execute_wrapper(pausing_after_the_first_item_lock(barrier)):
                reconciliation_item_explain(item_id=item.pk, note=note, actor=finance)
            return "explained"
        except ApplicationError as error:
            return error.code
        except OperationalError as error:
            return f"error: {error}"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(explain, [first, second], ["From the first.",
                                                             "From the second."]))

    assert not [outcome for outcome in outcomes if outcome.startswith("error")], outcomes
    assert sorted(outcomes) == ["already_explained", "explained"]
    winner = [first, second][outcomes.index("explained")]
    note = ["From the first.", "From the second."][outcomes.index("explained")]
    [event] = AuditEvent.objects.filter(action="reconciliation.explained")
    assert (event.object_id, event.reason) == (str(winner.pk), note)
    assert event.after["items"] == sorted([first.pk, second.pk])
    for item in (first, second):
        item.refresh_from_db()
        assert (item.explanation, item.explained_by) == (note, finance)
    assert first.explained_at == second.explained_at
    assert first_run.pk != second_run.pk

"""Several differences explained at once, with one note: from the report's checkboxes,
all or none, one audit event per difference, and the same differences in other runs
explained with them."""

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.integrations.stripe.sandbox.builders import create_customer
from cases.models import StripeLink
from finance.models import Match, ReconciliationItem, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import (
    reconciliation_items_explain,
    reconciliation_request,
    reconciliation_run,
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

    done = reconciliation_run(period=Period(today, today), actor=finance)
    live = client.get(f"/audit/reconciliation/{done.pk}/", HTTP_HX_REQUEST="true")
    html = live.content.decode()
    assert 'id="reconciliation-live"' in html
    assert "hx-trigger" not in html and 'id="explain-form"' in html
    assert "<h1>" not in html

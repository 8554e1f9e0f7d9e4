"""The shared reconciler settles every kind here: an action whose worker died after Stripe
acted is found in Stripe, by metadata or by the state it left, and never done twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing_console.integrations.stripe.sandbox.builders import recurring_price, subscribe
from money_actions import tasks
from money_actions.models import MoneyAction, State
from money_actions.selectors import stuck_after
from money_actions.services import money_action_begin_submission
from tests.credit_memos.conftest import credit_notes, memo_body, post_memo

pytestmark = pytest.mark.django_db(transaction=True)


def requested(user, body, path):
    """An action requested within policy, its message lost before any worker took it."""
    response = post_memo(user, body, path)
    assert response.status_code == 201, response.json()
    return MoneyAction.objects.get(pk=response.json()["id"])


def acted_then_lost(action):
    """Stripe acts and answers; the worker dies before recording it; time passes."""
    action = money_action_begin_submission(action_id=action.pk)
    action.kind_def.executor.submit(action)
    MoneyAction.objects.filter(pk=action.pk).update(
        submitted_at=timezone.now() - stuck_after() - timedelta(minutes=1),
        updated_at=timezone.now() - stuck_after() - timedelta(minutes=1))


def settle(action):
    assert tasks.reconcile_stuck_submissions() == 1
    action.refresh_from_db()
    assert action.state == State.SUCCEEDED
    return action


def test_a_lost_credit_memo_is_found_by_its_metadata(invoices, case, sandbox, specialist):
    invoice = invoices["paid"]
    action = requested(specialist, memo_body(case, invoice), "/api/v1/credit-memos/")
    acted_then_lost(action)

    action = settle(action)

    [note] = credit_notes(sandbox, invoice)
    assert action.stripe_object_id == note.id


@pytest.mark.parametrize("kind, status", [("invoice_void", "void"),
                                          ("invoice_uncollectible", "uncollectible"),
                                          ("invoice_paid_out_of_band", "paid")])
def test_a_lost_invoice_change_is_found_by_the_status_it_left(invoices, case, sandbox,
                                                             specialist, kind, status):
    invoice = invoices["open"]
    action = requested(specialist, {"case_id": case.pk, "kind": kind, "invoice_id": invoice.id,
                                    "reason_code": "other", "note": "x"},
                       "/api/v1/invoice-adjustments/")
    acted_then_lost(action)

    settle(action)

    assert sandbox.client.v1.invoices.retrieve(invoice.id).status == status


def test_a_lost_balance_credit_is_found_by_its_metadata(case, customer, sandbox, specialist):
    action = requested(specialist, {"case_id": case.pk, "kind": "balance_credit",
                                    "amount": 700, "currency": "usd", "description": "Sorry",
                                    "reason_code": "other", "note": "x"},
                       "/api/v1/invoice-adjustments/")
    acted_then_lost(action)

    action = settle(action)

    transactions = sandbox.client.v1.customers.balance_transactions.list(customer.id).data
    assert [transaction.id for transaction in transactions] == [action.stripe_object_id]


def test_a_lost_subscription_change_is_found_by_the_state_it_left(case, customer, sandbox,
                                                                  specialist):
    price = recurring_price(sandbox.client, product_name="Basic", unit_amount=1_000)
    subscription = subscribe(sandbox.client, customer=customer.id, price=price.id)
    action = requested(specialist, {"case_id": case.pk, "subscription_id": subscription.id,
                                    "kind": "subscription_cancel_at_end", "reason_code": "other",
                                    "note": "x"}, "/api/v1/subscription-changes/")
    acted_then_lost(action)

    settle(action)

    assert sandbox.client.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end


def test_an_invoice_change_stripe_never_saw_is_sent_again_once(invoices, case, sandbox,
                                                               specialist, eager_tasks):
    invoice = invoices["open"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("money_actions.services._queue_submission", lambda action: None)
        action = requested(specialist, {"case_id": case.pk, "kind": "invoice_void",
                                        "invoice_id": invoice.id, "reason_code": "other",
                                        "note": "x"}, "/api/v1/invoice-adjustments/")
    money_action_begin_submission(action_id=action.pk)
    MoneyAction.objects.filter(pk=action.pk).update(
        submitted_at=timezone.now() - stuck_after() - timedelta(minutes=1),
        updated_at=timezone.now() - stuck_after() - timedelta(minutes=1))

    tasks.reconcile_stuck_submissions()

    action.refresh_from_db()
    assert action.state == State.SUCCEEDED
    assert sandbox.client.v1.invoices.retrieve(invoice.id).status == "void"

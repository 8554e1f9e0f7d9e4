"""What is left to refund of a charge has one answer (`money_actions.selectors.
refund_left_on`) for every kind that refunds one: a refund, a credit memo's refund part and
a cancellation's refund each count the others, on their way or succeeded, and a read of the
charge taken before one of them succeeded does not give its money out a second time."""

import pytest

from billing_console.exceptions import ApplicationError
from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.sandbox.builders import paid_invoice
from credit_memos import rules
from credit_memos.selectors import CreditSpec, split_basis
from money_actions import tasks
from money_actions.kinds import METADATA_KEY
from money_actions.models import MoneyAction, State
from money_actions.selectors import refund_left_on
from tests.credit_memos.conftest import memo_body, post_memo
from tests.credit_memos.test_cancel_with_refund import API as CHANGES
from tests.credit_memos.test_cancel_with_refund import api_body, subscribed, the_charge
from tests.refunds.conftest import needs_postgres, post_refund, refund_body
from tests.refunds.test_concurrency import all_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def cancel_with_refund(specialist, case, subscription, key=None):
    """Cancel now and refund the whole last payment, through the API: the response."""
    body = api_body(case, subscription, refund="whole_payment")
    shown = post_memo(specialist, body, CHANGES + "preview/")
    assert shown.status_code == 200, shown.json()
    return post_memo(specialist, {**body, "at": shown.json()["at"]}, CHANGES, key=key)


def test_a_cancellations_refund_waiting_for_finance_holds_the_charge_against_refunds_and_credits(
        case, sandbox, customer, plans, specialist):
    annual = subscribed(sandbox, customer, plans["annual"])
    waiting = cancel_with_refund(specialist, case, annual)
    assert waiting.json()["state"] == "pending_approval", waiting.json()
    charge = the_charge(sandbox, customer)
    invoice = gateway.get_invoice(invoice_id=annual.latest_invoice)

    refund = post_refund(specialist, refund_body(case, charge.id, amount=1_000))
    credit = post_memo(specialist, memo_body(case, invoice, amount=1_000))

    assert (refund.status_code, refund.json()["code"]) == (409, "amount_above_refundable")
    # Before, the credit to the balance went through: the customer would have had the
    # whole year back on the card and 10.00 more on the balance.
    assert (credit.status_code, credit.json()["code"]) == (409, "amount_above_creditable")
    assert MoneyAction.objects.count() == 1


def test_a_read_of_the_charge_older_than_a_refund_does_not_give_that_refund_out_again(
        charged, specialist, eager_tasks):
    case, charge_id = charged  # 100.00 captured
    read_before = gateway.get_charge(charge_id=charge_id)

    done = post_refund(specialist, refund_body(case, charge_id, amount=3_000))

    assert MoneyAction.objects.get(pk=done.json()["id"]).state == State.SUCCEEDED
    assert read_before.amount_refunded == 0
    assert refund_left_on(read_before) == 7_000
    assert refund_left_on(gateway.get_charge(charge_id=charge_id)) == 7_000


def test_a_read_older_than_a_cancellations_refund_leaves_only_the_rest(
        case, sandbox, customer, subscription, specialist, eager_tasks):
    read_before = gateway.get_charge(charge_id=the_charge(sandbox, customer).id)

    done = cancel_with_refund(specialist, case, subscription)

    assert MoneyAction.objects.get(pk=done.json()["id"]).state == State.SUCCEEDED
    assert refund_left_on(read_before) == 0  # the whole 49.00 went back
    left = post_refund(specialist, refund_body(case, read_before.id, amount=100))
    assert (left.status_code, left.json()["code"]) == (409, "amount_above_refundable")


@needs_postgres
@pytest.mark.postgres
def test_a_cancellations_refund_and_refunds_racing_on_one_charge_promise_it_once(
        case, sandbox, customer, subscription, specialist):
    charge = the_charge(sandbox, customer)  # 49.00, paying the subscription's invoice
    body = api_body(case, subscription, refund="whole_payment")
    at = post_memo(specialist, body, CHANGES + "preview/").json()["at"]

    def ask(i):
        if i == 0:
            return post_memo(specialist, {**body, "at": at}, CHANGES, key="cancel")
        return post_refund(specialist, refund_body(case, charge.id, amount=4_900),
                           key=f"refund-{i}")

    responses = all_at_once(ask, callers=10)

    accepted = [response for response in responses if response.status_code == 201]
    assert len(accepted) == 1, [response.json() for response in responses]
    assert {response.json()["code"] for response in responses
            if response.status_code != 201} == {"amount_above_refundable"}
    assert sum(MoneyAction.objects.values_list("amount", flat=True)) == 4_900


# Found by trying to break it ------------------------------------------------------------


def paid_invoice_of(sandbox, customer):
    """A 100.00 invoice paid by card (less any credit on the customer's balance), and the
    charge that paid it."""
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 10_000)])
    return invoice, gateway.invoice_charge(invoice_id=invoice.id)


def succeeded(response):
    assert response.status_code == 201, response.json()
    return MoneyAction.objects.get(pk=response.json()["id"]).state == State.SUCCEEDED


def test_a_credit_memo_voided_since_gives_the_charge_back_to_refunds(
        sandbox, customer, case, specialist, eager_tasks):
    invoice, charge = paid_invoice_of(sandbox, customer)
    memo = post_memo(specialist, memo_body(case, invoice, amount=3_000))
    assert succeeded(memo)
    assert succeeded(post_memo(specialist, {"reason_code": "billing_error",
                                            "note": "Wrong invoice."},
                               f"/api/v1/credit-memos/{memo.json()['id']}/void/"))

    assert refund_left_on(gateway.get_charge(charge_id=charge.id)) == 10_000
    assert succeeded(post_memo(specialist, memo_body(case, invoice, amount=10_000,
                                                     settle_to="refund")))


def test_an_invoice_paid_partly_from_the_balance_credits_that_part_without_taking_the_card(
        sandbox, customer, case, specialist, eager_tasks):
    sandbox.client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -4_000, "currency": "usd"})
    invoice, charge = paid_invoice_of(sandbox, customer)  # 40.00 from the balance, 60.00 card
    assert charge.amount_captured == 6_000

    assert succeeded(post_memo(specialist, memo_body(case, invoice, amount=4_000)))

    assert refund_left_on(gateway.get_charge(charge_id=charge.id)) == 6_000
    assert succeeded(post_refund(specialist, refund_body(case, charge.id, amount=6_000)))
    refused = post_refund(specialist, refund_body(case, charge.id, amount=1))
    assert (refused.status_code, refused.json()["code"]) == (409, "amount_above_refundable")


def test_a_refund_stripe_already_lists_is_not_counted_twice_when_another_is_sent(
        charged, sandbox, specialist):
    case, charge_id = charged  # 100.00
    first, second = (post_refund(specialist, refund_body(case, charge_id, amount=amount))
                     for amount in (6_000, 4_000))
    first_id, second_id = first.json()["id"], second.json()["id"]
    # A worker sent the first and was lost before it recorded Stripe's answer.
    sandbox.client.v1.refunds.create(params={
        "charge": charge_id, "amount": 6_000, "metadata": {METADATA_KEY: first_id}})
    MoneyAction.objects.filter(pk=first_id).update(state=State.SUBMITTING)

    tasks.submit_money_action(second_id)

    assert MoneyAction.objects.get(pk=second_id).state == State.SUCCEEDED


def test_a_credit_checked_on_a_read_older_than_a_refund_does_not_give_that_money_again(
        sandbox, customer, case, specialist, eager_tasks):
    invoice, charge = paid_invoice_of(sandbox, customer)
    read_before = rules.paid_by(invoice)  # the credit memo's request reads it before its lock
    assert succeeded(post_refund(specialist, refund_body(case, charge.id, amount=10_000)))
    spec = CreditSpec(invoice_id=invoice.id, amount=10_000, settle_to="customer_balance",
                      stripe_reason="order_change")
    invoice = gateway.get_invoice(invoice_id=invoice.id)

    with pytest.raises(ApplicationError) as refused:
        rules.check_credit_note(invoice, spec, 10_000, basis=split_basis(invoice),
                                paid=read_before)
    assert refused.value.code == "amount_above_creditable"


def test_an_invoice_credited_to_the_balance_in_the_dashboard_is_not_refunded_on_the_card_too(
        sandbox, customer, case, specialist, eager_tasks):
    invoice, charge = paid_invoice_of(sandbox, customer)
    sandbox.client.v1.credit_notes.create(params={
        "invoice": invoice.id, "amount": 7_000, "credit_amount": 7_000})

    refused = post_refund(specialist, refund_body(case, charge.id, amount=3_100))

    assert (refused.status_code, refused.json()["code"]) == (409, "amount_above_refundable")
    assert "30.00 USD this charge can still refund" in refused.json()["message"]
    assert succeeded(post_refund(specialist, refund_body(case, charge.id, amount=3_000)))


def test_a_cancellations_refund_leaves_out_what_the_dashboard_credited_to_the_balance(
        case, sandbox, customer, subscription, specialist):
    sandbox.client.v1.credit_notes.create(params={
        "invoice": subscription.latest_invoice, "amount": 4_000, "credit_amount": 4_000})

    shown = post_memo(specialist, api_body(case, subscription, refund="whole_payment"),
                      CHANGES + "preview/")

    assert shown.status_code == 200, shown.json()
    assert (shown.json()["amount"], shown.json()["charge"]["refundable"]) == (900, 900)

"""Money facts that never disagree: each fault found by trying the console as a user would,
with its input, and one more of the same kind.

- the console's own money coming back by webhook is attributed to the action that made it;
- state that changed after the request is worked out again, or goes back to a person;
- what Stripe would refuse is refused when it is asked;
- a refund failure only `charge.refund.updated` announces fails the action and flags it;
- money taken has a cap no request passes.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.integrations import inbox
from billing_console.integrations.stripe.sandbox.builders import (
    create_customer,
    draft_invoice,
    open_invoice,
    paid_invoice,
)
from cases.models import StripeLink
from finance.periods import Period
from finance.reconciliation import compare
from money_actions import tasks
from money_actions.ledger import customer_given_back
from money_actions.models import LedgerEntry, MoneyAction, State
from tests.cases.factories import make_case
from tests.conftest import signed_in
from tests.credit_memos.conftest import LINES, deliver, memo_body, post_memo
from tests.finance.test_reconciliation import wait_for_refund_status
from tests.refunds.conftest import api_client, new_charge, post_refund, refund_body

pytestmark = pytest.mark.django_db(transaction=True)

ADJUSTMENTS = "/api/v1/invoice-adjustments/"


def today():
    day = timezone.now().date()
    return Period(since=day, until=day)


def memo(specialist, case, invoice, **overrides):
    response = post_memo(specialist, memo_body(case, invoice, **overrides))
    assert response.status_code == 201, response.json()
    return MoneyAction.objects.get(pk=response.json()["id"])


# The console's own money, coming back by webhook -----------------------------------------


def test_a_memos_refund_coming_back_by_webhook_is_the_memos(
        sandbox, case, invoices, specialist, eager_tasks):
    """Paid 100.00; a 25.00 memo settled to a refund; refund.created and charge.refunded
    arrive. Input of the fault: the refund was taken for someone else's."""
    action = memo(specialist, case, invoices["paid"], settle_to="refund")
    assert action.state == State.SUCCEEDED

    deliver(sandbox, "refund.created")
    deliver(sandbox, "charge.refunded")

    refund = LedgerEntry.objects.get(entry_type="refund")
    assert refund.money_action_id == action.pk and refund.given_back == 0
    assert not AuditEvent.objects.filter(action="refund.external").exists()
    assert customer_given_back(case.stripe_customer_id, "usd", 30) == 2_500
    matches = {(pair.either.object_type, pair.match) for pair in compare(today())}
    assert matches == {("credit_note", "matched"), ("refund", "matched")}


def test_a_memos_balance_credit_coming_back_by_webhook_is_the_memos(
        sandbox, case, invoices, specialist, eager_tasks):
    """The same kind: the credit note's balance transaction, learnt from customer.updated."""
    action = memo(specialist, case, invoices["paid"], settle_to="customer_balance")

    deliver(sandbox, "customer.updated")
    deliver(sandbox, "credit_note.created")

    entry = LedgerEntry.objects.get(entry_type="balance_transaction")
    assert entry.money_action_id == action.pk and entry.given_back == 0
    assert not AuditEvent.objects.filter(action__endswith=".external").exists()
    assert customer_given_back(case.stripe_customer_id, "usd", 30) == 2_500


def test_money_given_back_outside_the_console_counts_once_per_stripe_object(
        sandbox, case, specialist):
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id)
    sandbox.client.v1.refunds.create(params={"charge": charge_id, "amount": 700})

    deliver(sandbox, "refund.created")
    deliver(sandbox, "charge.refunded")

    assert customer_given_back(case.stripe_customer_id, "usd", 30) == 700
    assert AuditEvent.objects.filter(action="refund.external").count() == 1


# State that changed after the request ---------------------------------------------------


def test_an_approved_memo_on_an_invoice_paid_meanwhile_is_sent_for_what_it_is_now(
        sandbox, customer, case, specialist, finance, eager_tasks):
    """Open 1,000.00; a 600.00 memo settled to a refund waits for approval; the customer
    pays; finance approves: a credit note with a 600.00 refund, never `failed`."""
    invoice = open_invoice(sandbox.client, customer=customer.id,
                           lines=[("Annual plan", 100_000)])
    action = memo(specialist, case, invoice, amount=60_000, settle_to="refund")
    assert action.state == State.PENDING_APPROVAL
    sandbox.client.v1.invoices.pay(invoice.id)

    approved = api_client(finance).post(f"/api/v1/money-actions/{action.pk}/approve/",
                                        {"note": "Agreed."}, format="json")

    assert approved.status_code == 200, approved.json()
    action.refresh_from_db()
    assert action.state == State.SUCCEEDED, action.failure_reason
    note = sandbox.client.v1.credit_notes.retrieve(action.stripe_object_id)
    assert (note.amount, note.post_payment_amount) == (60_000, 60_000)
    assert sandbox.client.v1.refunds.list(params={"limit": 10}).data[0].amount == 60_000
    assert action.params["split_basis"] == {"invoice_status": "paid", "outstanding": 0}


def test_an_approved_void_of_an_invoice_paid_meanwhile_goes_back_with_the_reason(
        sandbox, customer, case, specialist, finance, eager_tasks):
    """The same kind: what can no longer be done goes back to a person, in words."""
    invoice = open_invoice(sandbox.client, customer=customer.id,
                           lines=[("Annual plan", 100_000)])
    response = post_memo(specialist, {"case_id": case.pk, "kind": "invoice_void",
                                      "invoice_id": invoice.id, "reason_code": "other",
                                      "note": "Billed twice."}, ADJUSTMENTS)
    action = MoneyAction.objects.get(pk=response.json()["id"])
    assert action.state == State.PENDING_APPROVAL
    sandbox.client.v1.invoices.pay(invoice.id)

    api_client(finance).post(f"/api/v1/money-actions/{action.pk}/approve/", {},
                             format="json")

    action.refresh_from_db()
    assert action.state == State.PENDING_APPROVAL
    assert "this one is paid" in action.policy_verdicts[-1]["explanation"]
    assert sandbox.client.v1.invoices.retrieve(invoice.id).status == "paid"


# What Stripe would refuse, refused when asked -------------------------------------------


@pytest.fixture
def balance_paid(sandbox):
    """A 100.00 invoice of which the customer's -40.00 balance paid 40.00 and the card
    60.00."""
    customer = create_customer(sandbox.client, name="Grace Hopper", email="grace@example.com",
                               payment_method="pm_card_visa")
    sandbox.client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -4_000, "currency": "usd"})
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=LINES)
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    return case, invoice


def test_a_memo_refund_above_the_card_payment_is_refused_when_asked(
        sandbox, balance_paid, specialist):
    case, invoice = balance_paid
    assert invoice.amount_paid == 6_000

    response = post_memo(specialist, memo_body(case, invoice, amount=10_000,
                                               settle_to="refund"))

    assert response.status_code == 409
    assert response.json()["code"] == "refund_above_refundable"
    assert "at most 60.00 USD on the charge of 60.00 USD on " in response.json()["message"]
    assert "ch_" not in response.json()["message"]  # the charge by its name, not its id
    assert not MoneyAction.objects.exists()
    assert not sandbox.client.v1.credit_notes.list(params={"invoice": invoice.id}).data


def test_the_preview_refuses_it_too(sandbox, balance_paid, specialist):
    """The same kind, on the other road to it."""
    case, invoice = balance_paid
    response = post_memo(specialist, memo_body(case, invoice, amount=6_500,
                                               settle_to="refund"),
                         "/api/v1/credit-memos/preview/")

    assert response.status_code == 409
    assert response.json()["code"] == "refund_above_refundable"


def test_a_memo_within_the_card_payment_goes_through(sandbox, balance_paid, specialist,
                                                     eager_tasks):
    case, invoice = balance_paid
    action = memo(specialist, case, invoice, amount=6_000, settle_to="refund")

    assert action.state == State.SUCCEEDED, action.failure_reason


def test_the_void_of_a_memo_whose_refund_went_out_is_refused(
        sandbox, case, invoices, specialist, eager_tasks):
    """Paid 100.00; a 100.00 memo refunded; voiding it would let a new memo give 100.00
    again."""
    action = memo(specialist, case, invoices["paid"], amount=10_000, settle_to="refund")

    voided = api_client(specialist).post(f"/api/v1/credit-memos/{action.pk}/void/",
                                         {"reason_code": "other", "note": "Undo."},
                                         format="json")

    assert voided.status_code == 409
    assert voided.json()["code"] == "refunded_credit_note"
    assert "100.00 USD of this credit memo went back" in voided.json()["message"]
    assert sandbox.client.v1.credit_notes.retrieve(action.stripe_object_id).status == "issued"
    again = post_memo(specialist, memo_body(case, invoices["paid"], amount=10_000))
    assert again.json()["code"] == "amount_above_creditable"


def test_a_refund_of_a_disputed_charge_is_refused_when_asked(sandbox, case, specialist):
    """The same kind: Stripe refuses to refund a charge under dispute."""
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id,
                              payment_method="pm_card_createDispute")

    response = post_refund(specialist, refund_body(case, charge_id, amount=1_000))

    assert response.status_code == 409
    assert response.json()["code"] == "charge_disputed"
    assert not MoneyAction.objects.exists()


def test_a_dispute_is_kept_in_the_ledger_and_the_trail(sandbox, case):
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id,
                              payment_method="pm_card_createDispute")

    deliver(sandbox, "charge.dispute.created")

    entry = LedgerEntry.objects.get(entry_type="dispute")
    assert (entry.parent_id, entry.stripe_customer_id, entry.case) == (
        charge_id, case.stripe_customer_id, case)
    assert AuditEvent.objects.filter(action="dispute.external",
                                     stripe_object_id=entry.stripe_id).count() == 1


def test_a_balance_debit_above_the_cap_cannot_be_sent(case, customer, specialist):
    response = post_memo(specialist, {
        "case_id": case.pk, "kind": "balance_debit", "amount": 99_999_999, "currency": "usd",
        "description": "Adjustment", "reason_code": "other", "note": "Typo?"}, ADJUSTMENTS)

    assert response.status_code == 409
    assert response.json()["code"] == "above_take_cap"
    assert not MoneyAction.objects.exists()


def test_items_added_to_a_draft_above_the_cap_cannot_be_sent(sandbox, customer, case,
                                                             specialist):
    """The same kind: money taken by a draft change."""
    invoice = draft_invoice(sandbox.client, customer=customer.id, lines=LINES)
    response = post_memo(specialist, {
        "case_id": case.pk, "kind": "invoice_edit", "invoice_id": invoice.id,
        "add": [{"description": "Setup", "amount": 99_999_999}], "finalize": False,
        "reason_code": "other", "note": "Typo?"}, ADJUSTMENTS)

    assert response.status_code == 409
    assert response.json()["code"] == "above_take_cap"


def test_a_balance_debit_above_the_approval_limit_waits_for_finance(case, customer,
                                                                     specialist):
    response = post_memo(specialist, {
        "case_id": case.pk, "kind": "balance_debit", "amount": 60_000, "currency": "usd",
        "description": "Unpaid usage", "reason_code": "other", "note": "Agreed."},
        ADJUSTMENTS)

    assert response.json()["state"] == State.PENDING_APPROVAL
    assert [v["rule"] for v in response.json()["policy_verdicts"]] == ["take_limit"]


# A refund failure told only as charge.refund.updated ------------------------------------


def charge_refund_updated(refund_id):
    """What Stripe sends for a card refund's failure before API version 2024-10-28."""
    event = {"id": f"evt_cru_{refund_id}", "object": "event", "type": "charge.refund.updated",
             "data": {"object": {"id": refund_id, "object": "refund"}},
             "request": {"id": None, "idempotency_key": None}}
    stored, _ = inbox.accept(source="stripe", event_id=event["id"], event_type=event["type"],
                             payload=event)
    inbox.process(stored.pk)
    return stored


def test_a_refund_failure_told_only_as_charge_refund_updated_fails_and_flags(
        sandbox, case, specialist, eager_tasks):
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id,
                              payment_method="pm_card_refundFail")
    action = MoneyAction.objects.get(
        pk=post_refund(specialist, refund_body(case, charge_id)).json()["id"])
    assert action.state == State.SUCCEEDED
    wait_for_refund_status(sandbox, action.stripe_object_id, "failed")

    stored = charge_refund_updated(action.stripe_object_id)

    stored.refresh_from_db()
    assert stored.status == "processed"
    action.refresh_from_db()
    assert action.state == State.FAILED
    assert "failed after it had succeeded" in action.finance_flag
    assert customer_given_back(case.stripe_customer_id, "usd", 30) == 0


def test_a_memos_refund_failing_later_flags_the_memo(sandbox, specialist, eager_tasks):
    """The same kind: the refund that carried out a credit memo fails."""
    customer = create_customer(sandbox.client, name="Alan Turing", email="alan@example.com",
                               payment_method="pm_card_refundFail")
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=LINES)
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    action = memo(specialist, case, invoice, settle_to="refund")
    [refund] = sandbox.client.v1.credit_notes.retrieve(action.stripe_object_id).refunds
    refund_id = refund["refund"]
    wait_for_refund_status(sandbox, refund_id, "failed")

    charge_refund_updated(refund_id)

    action.refresh_from_db()
    assert action.state == State.SUCCEEDED
    assert action.finance_flag == ("The refund that paid out this credit memo failed: the "
                                   "customer did not get the money back.")


def test_the_customer_total_counts_only_the_window(sandbox, case, specialist, eager_tasks):
    """The ledger's total is by when Stripe made the money move."""
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id)
    post_refund(specialist, refund_body(case, charge_id, amount=1_000))
    LedgerEntry.objects.update(stripe_created_at=timezone.now() - timedelta(days=31))

    assert customer_given_back(case.stripe_customer_id, "usd", 30) == 0


# The Stripe panel after the console's own action ----------------------------------------


def panel(user, case):
    return signed_in(user).get(f"/cases/{case.pk}/stripe/",
                               HTTP_HX_REQUEST="true").content.decode()


def test_the_stripe_panel_shows_the_consoles_own_refund_at_once(sandbox, case, specialist,
                                                                eager_tasks):
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id, amount=49_000)
    assert "490.00 USD" in panel(specialist, case)  # now in the panel's cache

    post_refund(specialist, refund_body(case, charge_id, amount=10_000))

    assert "390.00 USD" in panel(specialist, case)


def test_the_stripe_panel_shows_the_consoles_own_credit_memo_at_once(
        sandbox, case, invoices, specialist, eager_tasks):
    """The same kind: a new credit note is listed at once."""
    before = panel(specialist, case)  # now in the panel's cache

    action = memo(specialist, case, invoices["paid"])

    assert action.stripe_object_id not in before
    assert action.stripe_object_id in panel(specialist, case)


# Reconciliation with balance transactions -------------------------------------------------


def test_reconciliation_compares_balance_transactions(sandbox, case, customer, specialist,
                                                      eager_tasks):
    response = post_memo(specialist, {
        "case_id": case.pk, "kind": "balance_credit", "amount": 1_200, "currency": "usd",
        "description": "Goodwill", "reason_code": "courtesy", "note": "Outage."}, ADJUSTMENTS)
    action = MoneyAction.objects.get(pk=response.json()["id"])
    assert action.state == State.SUCCEEDED
    outside = sandbox.client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": 300, "currency": "usd"})  # a debit in the Dashboard

    pairs = {pair.either.stripe_object_id: pair for pair in compare(today())
             if pair.either.object_type == "balance_transaction"}

    own = action.stripe_object_id
    assert pairs[own].match == "matched" and pairs[own].stripe.amount == 1_200
    assert pairs[outside.id].match == "stripe_only"


# A short walk -----------------------------------------------------------------------------


def stripe_reads(sandbox):
    return [entry["path"] for entry in sandbox._control("GET", "/_sandbox/requests")["data"]
            if entry["method"] == "GET" and entry["path"].startswith("/v1/")]


def test_a_page_refund_reads_the_charge_and_its_invoice_twice(sandbox, case, specialist):
    """From the confirm button to Stripe's refund: the charge and which invoice it paid
    (none here) for the request, and once more just before sending it."""
    _, charge_id = new_charge(sandbox, customer=case.stripe_customer_id)
    before = len(stripe_reads(sandbox))

    response = signed_in(specialist).post(f"/refunds/new/{case.pk}/{charge_id}/", {
        "amount": "25.00", "currency": "usd", "stripe_reason": "requested_by_customer",
        "reason_code": "courtesy", "note": "On the phone.", "request_key": str(uuid.uuid4()),
        "confirm": "1"})
    action = MoneyAction.objects.get(stripe_target_id=charge_id)
    tasks.submit_money_action.apply(args=[str(action.pk)])

    assert response.status_code == 302
    action.refresh_from_db()
    assert action.state == State.SUCCEEDED
    assert stripe_reads(sandbox)[before:] == [f"/v1/charges/{charge_id}",
                                              "/v1/invoice_payments"] * 2

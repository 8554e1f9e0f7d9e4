"""Changes made outside the console arrive by webhook as external changes in the audit
trail, on the customer's case; the console's own changes, which raise the same events,
are not counted twice. The events are the sandbox's own, fed through the inbox."""

import pytest

from audit.models import AuditEvent, Source
from billing_console.integrations import inbox
from billing_console.integrations.stripe.sandbox.builders import recurring_price, subscribe
from money_actions.models import LedgerEntry, MoneyAction, State
from tests.credit_memos.conftest import deliver, memo_body, post_memo

pytestmark = pytest.mark.django_db(transaction=True)


def external(action):
    return list(AuditEvent.objects.filter(action=action, source=Source.STRIPE))


@pytest.mark.parametrize("event_type, action, change", [
    ("credit_note.created", "credit_memo.external",
     lambda client, invoice: client.v1.credit_notes.create(
         params={"invoice": invoice.id, "amount": 1_500})),
    ("invoice.voided", "invoice_void.external",
     lambda client, invoice: client.v1.invoices.void_invoice(invoice.id)),
    ("invoice.marked_uncollectible", "invoice_uncollectible.external",
     lambda client, invoice: client.v1.invoices.mark_uncollectible(invoice.id)),
])
def test_an_invoice_change_in_the_dashboard_is_an_external_change_on_the_case(
        invoices, case, sandbox, event_type, action, change):
    change(sandbox.client, invoices["open"])

    assert len(deliver(sandbox, event_type)) == 1
    [event] = external(action)
    assert event.case_id == case.pk and event.reason == "Made outside the console."
    assert case.events.filter(kind="money", body__contains="outside the console").exists()


def test_a_credit_note_voided_in_the_dashboard_is_external(invoices, case, sandbox):
    note = sandbox.client.v1.credit_notes.create(params={"invoice": invoices["open"].id,
                                                         "amount": 1_000})
    sandbox.client.v1.credit_notes.void_credit_note(note.id)

    deliver(sandbox, "credit_note.voided")

    [event] = external("credit_memo_void.external")
    assert (event.stripe_object_id, event.amount) == (note.id, 1_000)


def test_subscription_changes_and_cancellations_in_the_dashboard_are_external(
        case, customer, sandbox):
    price = recurring_price(sandbox.client, product_name="Basic", unit_amount=1_000)
    subscription = subscribe(sandbox.client, customer=customer.id, price=price.id)
    sandbox.client.v1.subscriptions.update(subscription.id,
                                           params={"cancel_at_period_end": True})
    sandbox.client.v1.subscriptions.cancel(subscription.id)

    deliver(sandbox, "customer.subscription.updated")
    deliver(sandbox, "customer.subscription.deleted")

    assert [event.object_id for event in external("subscription_change.external")] == [
        subscription.id]
    assert [event.object_id for event in external("subscription_cancel.external")] == [
        subscription.id]


def test_a_balance_change_in_the_dashboard_is_external(case, customer, sandbox):
    sandbox.client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -2_000, "currency": "usd"})

    deliver(sandbox, "customer.updated")

    [event] = external("balance_credit.external")
    assert (event.amount, event.case_id) == (2_000, case.pk)
    entry = LedgerEntry.objects.get(entry_type="balance_transaction")
    assert (entry.amount, entry.given_back, entry.outside_console) == (-2_000, 2_000, True)


def test_the_consoles_own_changes_are_not_external(invoices, case, sandbox, specialist,
                                                   eager_tasks):
    post_memo(specialist, memo_body(case, invoices["paid"]))

    deliver(sandbox, "credit_note.created")
    deliver(sandbox, "customer.updated")

    assert not AuditEvent.objects.filter(action__endswith=".external").exists()


@pytest.mark.parametrize("body", [
    {"kind": "subscription_cancel_refund"},
    {"kind": "subscription_cancel", "prorate": False, "invoice_now": False},
])
def test_the_consoles_own_cancellations_are_not_external(case, customer, sandbox, specialist,
                                                         eager_tasks, body):
    """Stripe keeps no idempotency key on a DELETE: the deletion's event names none."""
    price = recurring_price(sandbox.client, product_name="Basic", unit_amount=1_000)
    subscription = subscribe(sandbox.client, customer=customer.id, price=price.id)
    done = post_memo(specialist, {"case_id": case.pk, "subscription_id": subscription.id,
                                  "reason_code": "cancellation", "note": "Asked to stop.",
                                  **body}, "/api/v1/subscription-changes/")
    assert MoneyAction.objects.get(pk=done.json()["id"]).state == State.SUCCEEDED

    assert len(deliver(sandbox, "customer.subscription.deleted")) == 1

    assert not AuditEvent.objects.filter(action__endswith=".external").exists()
    assert not case.events.filter(body__contains="outside the console").exists()


def test_what_stripe_does_by_itself_is_not_an_external_change(case, customer, sandbox):
    """A renewal, a payment, balance credit used up: no request behind them."""

    event = {"id": "evt_renewal", "type": "customer.updated",
             "request": {"id": None, "idempotency_key": None},
             "data": {"object": {"id": customer.id, "object": "customer", "balance": 0,
                                 "currency": "usd"}, "previous_attributes": {"balance": -500}}}
    stored, _ = inbox.accept(source="stripe", event_id=event["id"], event_type=event["type"],
                             payload=event)
    inbox.process(stored.pk)

    assert not AuditEvent.objects.filter(action__endswith=".external").exists()


def test_a_plan_changed_in_the_dashboard_reads_as_both_its_sides_on_the_case(
        case, customer, sandbox):
    team = recurring_price(sandbox.client, product_name="Console Team", unit_amount=1_900)
    pro = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=49_000,
                          interval="year")
    subscription = subscribe(sandbox.client, customer=customer.id, price=team.id)
    sandbox.client.v1.subscriptions.update(subscription.id, params={"items": [
        {"id": subscription["items"].data[0].id, "price": pro.id, "quantity": 3}]})
    sandbox.client.v1.subscriptions.update(subscription.id,
                                           params={"cancel_at_period_end": True})

    deliver(sandbox, "customer.subscription.updated")

    change = "Console Team monthly × 1 → Console Pro annual × 3"
    told = set(case.events.filter(kind="money").values_list("body", flat=True))
    assert told == {f"Plan change made outside the console: {change}.",
                    "Plan change made outside the console (Active)."}
    assert {event.after.get("change") for event in external(
        "subscription_change.external")} == {change, None}

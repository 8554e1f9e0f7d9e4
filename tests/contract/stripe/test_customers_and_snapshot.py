"""Customer lookups and the billing snapshot a specialist reads."""

import uuid

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.integrations.stripe.sandbox.builders import (
    charge,
    create_customer,
    open_invoice,
    paid_invoice,
    recurring_price,
    subscribe,
)


def test_it_looks_a_customer_up_by_id_and_by_email(sandbox, customer):
    by_id = gateway.get_customer(customer_id=customer.id)
    by_email = gateway.find_customer_by_email(email=customer.email)

    assert by_id == by_email
    assert (by_id.email, by_id.default_payment_method) == (customer.email, "pm_card_visa")


def test_an_unknown_email_finds_nobody(sandbox):
    assert gateway.find_customer_by_email(email=f"{uuid.uuid4()}@example.com") is None


def test_an_unknown_customer_is_a_permanent_resource_missing(sandbox):
    with pytest.raises(PermanentStripeError) as missing:
        gateway.get_customer(customer_id="cus_doesnotexist")

    assert (missing.value.http_status, missing.value.code, missing.value.param) == (
        404, "resource_missing", "id")


def test_customers_can_be_searched_by_email(sandbox, customer):
    found = sandbox.client.v1.customers.search(params={"query": f"email:'{customer.email}'"})

    assert [match.id for match in found.data] == [customer.id]


def test_the_snapshot_holds_everything_about_a_customers_billing(sandbox, key):
    client = sandbox.client
    customer = create_customer(client, name="Snap Shot", email=f"{uuid.uuid4()}@example.com",
                               payment_method="pm_card_visa")
    price = recurring_price(client, product_name="Snapshot plan", unit_amount=2500)
    subscription = subscribe(client, customer=customer.id, price=price.id)
    good = charge(client, customer=customer.id, amount=1800)
    declined = charge(client, customer=customer.id, amount=700,
                      payment_method="pm_card_chargeDeclined")
    disputed = charge(client, customer=customer.id, amount=900,
                      payment_method="pm_card_createDispute")
    refund = gateway.create_refund(charge_id=good, amount=800, idempotency_key=key())
    paid = paid_invoice(client, customer=customer.id, lines=[("Extra", 1200)])
    note = gateway.create_credit_note(invoice_id=paid.id, amount=200, credit_amount=200,
                                      idempotency_key=key())
    opened = open_invoice(client, customer=customer.id, lines=[("Later", 400)])

    snapshot = gateway.billing_snapshot(customer_id=customer.id)

    # The note's 200 of credit went on the invoice finalized after it.
    assert snapshot.customer.balance == 0
    assert [s.id for s in snapshot.subscriptions] == [subscription.id]
    invoices = {invoice.id: invoice for invoice in snapshot.invoices}
    assert {paid.id, opened.id, subscription.latest_invoice} <= set(invoices)
    assert invoices[opened.id].amount_due == 200
    assert all(invoice.lines for invoice in snapshot.invoices)
    charges = {c.id: c for c in snapshot.charges}
    assert charges[good].refundable_amount == 1000
    assert charges[declined].status == "failed" and charges[declined].refundable_amount == 0
    assert charges[declined].failure_code == "card_declined"
    assert [r.id for r in snapshot.refunds] == [refund.id]
    assert [d.charge for d in snapshot.disputes] == [disputed]
    assert [n.id for n in snapshot.credit_notes] == [note.id]
    assert [t.type for t in snapshot.balance_transactions] == ["applied_to_invoice",
                                                               "credit_note"]
    assert snapshot.balance_transactions[1].credit_note == note.id


def test_the_snapshot_follows_pages_to_the_end(sandbox, customer, key, monkeypatch):
    monkeypatch.setattr(gateway, "PAGE_SIZE", 2)
    made = [gateway.create_balance_transaction(customer_id=customer.id, amount=-100 * n,
                                               currency="usd", idempotency_key=key())
            for n in range(1, 6)]

    snapshot = gateway.billing_snapshot(customer_id=customer.id)

    assert [t.id for t in snapshot.balance_transactions] == [t.id for t in reversed(made)]

"""Invoices through the gateway, following Stripe's status transitions, with invoice items
and the customer's balance."""

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.integrations.stripe.sandbox.builders import (
    create_customer,
    draft_invoice,
    open_invoice,
    paid_invoice,
)

LINES = [("Seats", 4000), ("Support", 1000)]


def test_finalizing_a_draft_opens_it_with_a_number(sandbox, customer, key):
    draft = draft_invoice(sandbox.client, customer=customer.id, lines=LINES)

    invoice = gateway.finalize_invoice(invoice_id=draft.id, idempotency_key=key())

    assert (invoice.status, invoice.total, invoice.amount_due) == ("open", 5000, 5000)
    assert invoice.number and invoice.hosted_invoice_url
    assert [line.amount for line in invoice.lines] == [4000, 1000]


def test_a_finalized_invoice_cannot_be_finalized_again(sandbox, customer, key):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    with pytest.raises(PermanentStripeError) as refused:
        gateway.finalize_invoice(invoice_id=invoice.id, idempotency_key=key())

    assert refused.value.http_status == 400


def test_an_open_invoice_can_be_paid_out_of_band(sandbox, customer, key):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    paid = gateway.pay_invoice_out_of_band(invoice_id=invoice.id, idempotency_key=key())

    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 5000, 0)


def test_it_refuses_to_void_a_paid_invoice(sandbox, customer, key):
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=LINES)

    with pytest.raises(PermanentStripeError) as refused:
        gateway.void_invoice(invoice_id=invoice.id, idempotency_key=key())

    assert refused.value.http_status == 400
    assert gateway.get_invoice(invoice_id=invoice.id).status == "paid"


def test_it_refuses_to_void_or_mark_uncollectible_a_draft(sandbox, customer, key):
    draft = draft_invoice(sandbox.client, customer=customer.id, lines=LINES)

    for move in (gateway.void_invoice, gateway.mark_invoice_uncollectible):
        with pytest.raises(PermanentStripeError):
            move(invoice_id=draft.id, idempotency_key=key())


def test_an_uncollectible_invoice_can_still_be_paid_or_voided(sandbox, customer, key):
    to_pay = open_invoice(sandbox.client, customer=customer.id, lines=LINES)
    to_void = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    for invoice in (to_pay, to_void):
        marked = gateway.mark_invoice_uncollectible(invoice_id=invoice.id,
                                                    idempotency_key=key())
        assert marked.status == "uncollectible"
    paid = gateway.pay_invoice_out_of_band(invoice_id=to_pay.id, idempotency_key=key())
    voided = gateway.void_invoice(invoice_id=to_void.id, idempotency_key=key())

    assert (paid.status, voided.status) == ("paid", "void")


def test_a_void_invoice_can_be_neither_paid_nor_marked_uncollectible(sandbox, customer, key):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)
    gateway.void_invoice(invoice_id=invoice.id, idempotency_key=key())

    with pytest.raises(PermanentStripeError):
        gateway.pay_invoice_out_of_band(invoice_id=invoice.id, idempotency_key=key())
    with pytest.raises(PermanentStripeError):
        gateway.mark_invoice_uncollectible(invoice_id=invoice.id, idempotency_key=key())


def test_only_a_draft_can_be_deleted(sandbox, customer):
    draft = draft_invoice(sandbox.client, customer=customer.id, lines=LINES)
    finalized = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    deleted = sandbox.client.v1.invoices.delete(draft.id)

    assert deleted.deleted
    with pytest.raises(PermanentStripeError) as missing:
        gateway.get_invoice(invoice_id=draft.id)
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    with pytest.raises(Exception, match="draft"):
        sandbox.client.v1.invoices.delete(finalized.id)


def test_invoice_items_go_on_drafts_only(sandbox, customer, key):
    draft = draft_invoice(sandbox.client, customer=customer.id, lines=LINES)
    finalized = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    item = gateway.add_invoice_item(customer_id=customer.id, invoice_id=draft.id, amount=250,
                                    currency="usd", description="Setup fee",
                                    idempotency_key=key())
    with pytest.raises(PermanentStripeError) as refused:
        gateway.add_invoice_item(customer_id=customer.id, invoice_id=finalized.id, amount=250,
                                 currency="usd", description="Too late",
                                 idempotency_key=key())

    assert (item.invoice, item.amount) == (draft.id, 250)
    assert gateway.get_invoice(invoice_id=draft.id).total == 5250
    assert refused.value.code == "invoice_not_editable"
    gateway.delete_invoice_item(invoice_item_id=item.id, idempotency_key=key())
    assert gateway.get_invoice(invoice_id=draft.id).total == 5000


def test_it_lists_a_customers_invoices_by_status(sandbox, customer):
    draft_invoice(sandbox.client, customer=customer.id, lines=LINES)
    opened = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    listed = gateway.list_invoices(customer_id=customer.id, status="open")

    assert [invoice.id for invoice in listed.items] == [opened.id]


def test_a_credit_balance_pays_part_of_the_next_invoice(sandbox, customer, key):
    credit = gateway.create_balance_transaction(customer_id=customer.id, amount=-1500,
                                                currency="usd", description="Goodwill",
                                                idempotency_key=key())
    draft = draft_invoice(sandbox.client, customer=customer.id, lines=LINES)

    invoice = gateway.finalize_invoice(invoice_id=draft.id, idempotency_key=key())

    assert (credit.type, credit.ending_balance) == ("adjustment", -1500)
    assert (invoice.starting_balance, invoice.ending_balance) == (-1500, 0)
    assert invoice.amount_due == 3500
    transactions = gateway.list_balance_transactions(customer_id=customer.id).items
    assert [t.type for t in transactions] == ["applied_to_invoice", "adjustment"]
    assert gateway.get_customer(customer_id=customer.id).balance == 0


def test_it_reads_every_line_of_a_long_invoice(sandbox, customer):
    lines = [(f"Line {number}", 100 + number) for number in range(12)]
    invoice = draft_invoice(sandbox.client, customer=customer.id, lines=lines)

    embedded = sandbox.get_json(f"/v1/invoices/{invoice.id}")["lines"]
    read = gateway.get_invoice(invoice_id=invoice.id)

    assert (len(embedded["data"]), embedded["has_more"]) == (10, True)
    assert [line.description for line in read.lines] == [name for name, _ in lines]


def test_a_declined_invoice_payment_makes_the_customer_delinquent_until_paid(sandbox, key):
    client = sandbox.client
    declining = create_customer(client, name="Dee Klined", email="dee@example.com",
                                payment_method="pm_card_chargeDeclined")
    invoice = open_invoice(client, customer=declining.id, lines=LINES)

    with pytest.raises(Exception, match="declined"):
        client.v1.invoices.pay(invoice.id)
    delinquent = gateway.get_customer(customer_id=declining.id).delinquent
    gateway.pay_invoice_out_of_band(invoice_id=invoice.id, idempotency_key=key())

    assert delinquent is True
    assert gateway.get_customer(customer_id=declining.id).delinquent is False

"""Credit notes through the gateway, with Stripe's split rules and limits."""

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.integrations.stripe.sandbox.builders import (
    draft_invoice,
    open_invoice,
    paid_invoice,
)
from billing_console.integrations.stripe.types import CreditLine

LINES = [("Seats", 4000), ("Support", 1000)]


def test_a_note_on_an_open_invoice_lowers_what_is_due(sandbox, customer, key):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    note = gateway.create_credit_note(invoice_id=invoice.id, amount=1200,
                                      reason="order_change", idempotency_key=key())

    assert (note.type, note.pre_payment_amount, note.post_payment_amount) == (
        "pre_payment", 1200, 0)
    after = gateway.get_invoice(invoice_id=invoice.id)
    assert (after.amount_due, after.pre_payment_credit_notes_amount) == (3800, 1200)


def test_a_note_for_everything_still_due_pays_the_invoice(sandbox, customer, key):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    gateway.create_credit_note(invoice_id=invoice.id, amount=5000, idempotency_key=key())

    assert gateway.get_invoice(invoice_id=invoice.id).status == "paid"


def test_a_note_on_a_paid_invoice_must_split_into_refund_credit_and_out_of_band(
        sandbox, customer, key):
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=LINES)

    with pytest.raises(PermanentStripeError) as refused:
        gateway.create_credit_note(invoice_id=invoice.id, amount=3000, refund_amount=1000,
                                   idempotency_key=key())
    note = gateway.create_credit_note(invoice_id=invoice.id, amount=3000, refund_amount=1000,
                                      credit_amount=1500, out_of_band_amount=500,
                                      idempotency_key=key())

    assert "must equal" in refused.value.message
    assert (note.type, note.post_payment_amount, note.refund_amount) == (
        "post_payment", 3000, 1000)
    assert note.out_of_band_amount == 500
    assert gateway.get_refund(refund_id=note.refunds[0]).amount == 1000
    assert gateway.get_customer(customer_id=customer.id).balance == -1500
    credit = gateway.list_balance_transactions(customer_id=customer.id).items[0]
    assert (credit.type, credit.amount, credit.credit_note) == ("credit_note", -1500, note.id)


def test_it_refuses_a_credit_note_above_the_invoice_total(sandbox, customer, key):
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=LINES)
    gateway.create_credit_note(invoice_id=invoice.id, amount=4000, out_of_band_amount=4000,
                               idempotency_key=key())

    with pytest.raises(PermanentStripeError) as refused:
        gateway.create_credit_note(invoice_id=invoice.id, amount=1001,
                                   out_of_band_amount=1001, idempotency_key=key())

    assert (refused.value.http_status, refused.value.param) == (400, "amount")


def test_it_credits_by_lines_and_refuses_more_than_a_line(sandbox, customer, key):
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=LINES)
    seats, support = (line.id for line in gateway.get_invoice(invoice_id=invoice.id).lines)

    note = gateway.create_credit_note(
        invoice_id=invoice.id, lines=[CreditLine(invoice_line_item=seats, amount=500),
                                      CreditLine(invoice_line_item=support, amount=250)],
        credit_amount=750, idempotency_key=key())
    with pytest.raises(PermanentStripeError) as refused:
        gateway.create_credit_note(
            invoice_id=invoice.id, lines=[CreditLine(invoice_line_item=support, amount=1001)],
            credit_amount=1001, idempotency_key=key())

    assert note.amount == 750
    assert [(line.invoice_line_item, line.amount) for line in note.lines] == [
        (seats, 500), (support, 250)]
    assert refused.value.param == "lines[0][amount]"


def test_a_preview_shows_the_note_without_issuing_it(sandbox, customer, key):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)

    preview = gateway.preview_credit_note(invoice_id=invoice.id, amount=700)

    assert (preview.amount, preview.pre_payment_amount) == (700, 700)
    assert gateway.list_credit_notes(invoice_id=invoice.id).items == ()
    assert gateway.get_invoice(invoice_id=invoice.id).amount_due == 5000


def test_voiding_a_note_gives_back_what_it_took_off_the_invoice(sandbox, customer, key):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=LINES)
    note = gateway.create_credit_note(invoice_id=invoice.id, amount=2000,
                                      idempotency_key=key())

    voided = gateway.void_credit_note(credit_note_id=note.id, idempotency_key=key())

    assert voided.status == "void" and voided.voided_at
    assert gateway.get_invoice(invoice_id=invoice.id).amount_due == 5000
    with pytest.raises(PermanentStripeError):
        gateway.void_credit_note(credit_note_id=note.id, idempotency_key=key())


def test_it_refuses_a_note_on_a_draft_or_void_invoice(sandbox, customer, key):
    draft = draft_invoice(sandbox.client, customer=customer.id, lines=LINES)

    with pytest.raises(PermanentStripeError) as refused:
        gateway.create_credit_note(invoice_id=draft.id, amount=100, idempotency_key=key())

    assert refused.value.param == "invoice"

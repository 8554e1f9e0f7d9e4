"""Which charge paid an invoice: the sandbox's invoice payments (Stripe's InvoicePayment,
the link since API version 2025-03-31.basil) and `gateway.invoice_charge` over them."""

import json

import pytest

from billing_console.integrations.stripe import gateway
from billing_console.integrations.stripe.errors import PermanentStripeError
from billing_console.integrations.stripe.sandbox.builders import (
    draft_invoice,
    open_invoice,
    paid_invoice,
)
from tests.contract.stripe.conftest import API_KEY, send
from tests.contract.stripe.test_fixture_fidelity import FIXTURES, assert_same_shape

# Required on Stripe's `invoice_payment` schema (stripe/openapi spec3, API reference).
REQUIRED_FIELDS = {"id", "object", "amount_paid", "amount_requested", "created", "currency",
                   "invoice", "is_default", "livemode", "payment", "status",
                   "status_transitions"}


def with_credit(sandbox, customer, amount):
    """Give the customer `amount` of credit on their balance (a negative balance)."""
    sandbox.client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -amount, "currency": "usd"})


def stripe_reads(sandbox_server, action):
    """`action()`'s result and the API requests the sandbox received while it ran."""
    with sandbox_server.state.lock:
        before = {request["request_id"] for request in sandbox_server.state.requests}
    result = action()
    with sandbox_server.state.lock:
        during = [f"{request['method']} {request['path']}"
                  for request in sandbox_server.state.requests
                  if request["request_id"] not in before
                  and not request["path"].startswith("/_sandbox/")]
    return result, during


def payments_of(sandbox, invoice_id, **filters):
    query = "&".join(f"{name}={value}" for name, value in {"invoice": invoice_id,
                                                            **filters}.items())
    return sandbox.get_json(f"/v1/invoice_payments?{query}")


# The sandbox's invoice payments ------------------------------------------------------


def test_an_invoice_paid_by_card_lists_one_paid_payment_naming_its_payment_intent(
        sandbox, customer):
    with_credit(sandbox, customer, 4000)
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 10000)])

    listing = payments_of(sandbox, invoice.id)

    assert (listing["object"], listing["url"], listing["has_more"]) == (
        "list", "/v1/invoice_payments", False)
    [payment] = listing["data"]
    assert set(payment) >= REQUIRED_FIELDS
    assert payment["id"].startswith("inpay_")
    assert (payment["object"], payment["invoice"], payment["status"], payment["currency"]) == (
        "invoice_payment", invoice.id, "paid", "usd")
    assert (payment["amount_requested"], payment["amount_paid"], payment["is_default"]) == (
        6000, 6000, True)
    intent = sandbox.client.v1.payment_intents.retrieve(payment["payment"]["payment_intent"])
    assert payment["payment"] == {"type": "payment_intent", "payment_intent": intent.id}
    assert intent.amount == 6000 and intent.latest_charge
    assert payment["status_transitions"] == {"canceled_at": None,
                                             "paid_at": invoice.status_transitions.paid_at}
    assert sandbox.get_json(f"/v1/invoice_payments/{payment['id']}") == payment


@pytest.mark.skipif(not FIXTURES.exists(), reason=f"Stripe's reference fixtures are not here "
                    f"({FIXTURES}); they come with the shared reference folder.")
def test_an_invoice_payment_has_every_field_stripe_has(sandbox, customer):
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 2500)])
    reference = json.loads(FIXTURES.read_text())["resources"]["invoice_payment"]

    payment = payments_of(sandbox, invoice.id)["data"][0]

    assert_same_shape("invoice_payment", reference, payment)
    assert set(reference["payment"]) <= set(payment["payment"])
    assert set(reference["status_transitions"]) == set(payment["status_transitions"])


def test_invoice_payments_filter_by_status_and_page_with_cursors(sandbox, customer):
    first = paid_invoice(sandbox.client, customer=customer.id, lines=[("One", 1000)])
    second = paid_invoice(sandbox.client, customer=customer.id, lines=[("Two", 2000)])

    assert payments_of(sandbox, first.id, status="open")["data"] == []
    assert len(payments_of(sandbox, first.id, status="paid")["data"]) == 1
    newest = sandbox.get_json("/v1/invoice_payments?limit=1")
    older = sandbox.get_json(
        f"/v1/invoice_payments?limit=1&starting_after={newest['data'][0]['id']}")
    back = sandbox.get_json(
        f"/v1/invoice_payments?limit=1&ending_before={older['data'][0]['id']}")

    assert newest["has_more"] and newest["data"][0]["invoice"] == second.id
    assert older["data"][0]["invoice"] == first.id
    assert back["data"] == newest["data"]


def test_invoice_payments_refuse_an_unknown_status_invoice_or_id(sandbox, customer):
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 1000)])
    headers = {"Authorization": f"Bearer {API_KEY}"}

    bad_status = send(f"{sandbox.url}/v1/invoice_payments?invoice={invoice.id}&status=done",
                      headers=headers)
    unknown_invoice = send(f"{sandbox.url}/v1/invoice_payments?invoice=in_missing",
                           headers=headers)
    unknown_id = send(f"{sandbox.url}/v1/invoice_payments/inpay_missing", headers=headers)

    assert (bad_status[0], bad_status[2]["error"]["param"]) == (400, "status")
    assert (unknown_invoice[0], unknown_invoice[2]["error"]["code"]) == (404, "resource_missing")
    assert (unknown_id[0], unknown_id[2]["error"]["code"]) == (404, "resource_missing")


def test_an_invoice_not_paid_by_a_charge_has_no_invoice_payment(sandbox, customer, key):
    out_of_band = open_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 1000)])
    gateway.pay_invoice_out_of_band(invoice_id=out_of_band.id, idempotency_key=key())
    with_credit(sandbox, customer, 5000)
    by_balance = open_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 3000)])

    assert by_balance.status == "paid"
    for invoice in (out_of_band, by_balance):
        assert payments_of(sandbox, invoice.id)["data"] == []


def test_charges_list_by_payment_intent(sandbox, customer):
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 1500)])
    intent = payments_of(sandbox, invoice.id)["data"][0]["payment"]["payment_intent"]

    charges = sandbox.get_json(f"/v1/charges?payment_intent={intent}")["data"]

    assert [(charge["payment_intent"], charge["amount"]) for charge in charges] == [
        (intent, 1500)]


# gateway.invoice_charge --------------------------------------------------------------


def test_invoice_charge_is_the_card_charge_after_the_customer_balance_in_two_reads(
        sandbox, sandbox_server, customer, key):
    with_credit(sandbox, customer, 4000)
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 10000)])
    assert (invoice.total, invoice.amount_paid) == (10000, 6000)

    charge, reads = stripe_reads(sandbox_server,
                                 lambda: gateway.invoice_charge(invoice_id=invoice.id))

    assert (charge.amount, charge.currency, charge.status, charge.customer) == (
        6000, "usd", "succeeded", customer.id)
    assert charge.refunds == () and charge.refundable_amount == 6000
    assert reads == ["GET /v1/invoice_payments", "GET /v1/charges"]


def test_invoice_charge_brings_the_charges_refunds(sandbox, customer, key):
    invoice = paid_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 5000)])
    paid_by = gateway.invoice_charge(invoice_id=invoice.id)
    refund = gateway.create_refund(charge_id=paid_by.id, amount=1200, idempotency_key=key())

    charge = gateway.invoice_charge(invoice_id=invoice.id)

    assert charge.id == paid_by.id
    assert [item.id for item in charge.refunds] == [refund.id]
    assert (charge.amount_refunded, charge.refundable_amount) == (1200, 3800)


def test_invoice_charge_is_none_for_an_invoice_paid_out_of_band(sandbox, sandbox_server,
                                                                customer, key):
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 1000)])
    gateway.pay_invoice_out_of_band(invoice_id=invoice.id, idempotency_key=key())

    charge, reads = stripe_reads(sandbox_server,
                                 lambda: gateway.invoice_charge(invoice_id=invoice.id))

    assert charge is None
    assert reads == ["GET /v1/invoice_payments"]


def test_invoice_charge_is_none_for_an_invoice_paid_wholly_by_the_balance(sandbox, customer):
    with_credit(sandbox, customer, 20000)
    invoice = open_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 10000)])
    assert invoice.status == "paid"

    assert gateway.invoice_charge(invoice_id=invoice.id) is None


def test_invoice_charge_is_none_for_a_draft_or_open_invoice(sandbox, customer):
    draft = draft_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 1000)])
    unpaid = open_invoice(sandbox.client, customer=customer.id, lines=[("Plan", 1000)])

    assert gateway.invoice_charge(invoice_id=draft.id) is None
    assert gateway.invoice_charge(invoice_id=unpaid.id) is None


def test_invoice_charge_refuses_an_unknown_invoice(sandbox):
    with pytest.raises(PermanentStripeError) as refused:
        gateway.invoice_charge(invoice_id="in_missing")

    assert (refused.value.code, refused.value.http_status) == ("resource_missing", 404)


def test_a_payment_naming_a_charge_reads_that_charge(sandbox, customer):
    """Stripe names the charge only for one made without a PaymentIntent, which the sandbox
    does not make; the converter and the choice of payment still read it from Stripe's
    documented shape."""
    shape = {"id": "inpay_1", "object": "invoice_payment", "amount_paid": 900,
             "amount_requested": 900, "created": 1700000000, "currency": "usd",
             "invoice": "in_1", "is_default": True, "livemode": False,
             "payment": {"type": "charge", "charge": "ch_1"}, "status": "paid",
             "status_transitions": {"canceled_at": None, "paid_at": 1700000100}}
    canceled = {**shape, "id": "inpay_0", "status": "canceled", "amount_paid": None,
                "payment": {"type": "payment_intent", "payment_intent": "pi_0"}}

    payments = [gateway._invoice_payment(canceled), gateway._invoice_payment(shape)]
    chosen = gateway._paying_payment(payments)

    assert (chosen.id, chosen.payment_type, chosen.charge, chosen.payment_intent) == (
        "inpay_1", "charge", "ch_1", None)
    assert (chosen.amount_paid, chosen.paid_at, chosen.canceled_at) == (900, 1700000100, None)
    assert gateway._paying_payment(payments[:1]) is None

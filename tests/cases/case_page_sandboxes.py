"""A Stripe sandbox of a test's own (behind the `stripe_sandbox` and `running_stripe`
fixtures), with the contract tests' controls, and a customer that has some of everything
for the case page's tests."""

import uuid

from billing_console.integrations.stripe.sandbox import build_server as build_stripe
from billing_console.integrations.stripe.sandbox.builders import (
    charge,
    create_customer,
    paid_invoice,
    recurring_price,
    subscribe,
)
from tests.contract.stripe.conftest import API_KEY as STRIPE_KEY
from tests.contract.stripe.conftest import Sandbox, start_in_thread
from tests.contract.stripe.conftest import stop as stop_stripe


class StripeSandbox(Sandbox):
    """A Stripe sandbox of its own: its address, an SDK client for arranging data, and the
    contract tests' controls (faults, the requests it received)."""

    def __init__(self):
        self.server = build_stripe("127.0.0.1", 0)
        super().__init__(start_in_thread(self.server))

    def point(self, settings):
        settings.STRIPE_API_BASE = self.url
        settings.STRIPE_API_KEY = STRIPE_KEY
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        settings.STRIPE_TIMEOUT_SECONDS = 10

    def stop(self):
        stop_stripe(self.server)

    def customer_with_history(self):
        """A customer with a subscription, a paid invoice with a credit note, a charge
        partly refunded and a disputed charge."""
        client = self.client
        customer = create_customer(client, name="Ava Okafor",
                                   email=f"ava.{uuid.uuid4().hex[:8]}@example.com",
                                   payment_method="pm_card_visa")
        price = recurring_price(client, product_name="Console Pro", unit_amount=4900)
        subscribe(client, customer=customer.id, price=price.id)
        invoice = paid_invoice(client, customer=customer.id, lines=[("Onboarding", 12000)])
        client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 2000,
                                              "credit_amount": 2000})
        refunded = charge(client, customer=customer.id, amount=1800)
        client.v1.refunds.create(params={"charge": refunded, "amount": 800})
        disputed = charge(client, customer=customer.id, amount=900,
                          payment_method="pm_card_createDispute")
        return customer, invoice, refunded, disputed


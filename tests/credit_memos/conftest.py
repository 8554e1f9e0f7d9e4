"""Fixtures for credit memo tests: the refunds tests' sandbox and policy, and invoices of a
case's customer in each state."""

import pytest

from billing_console.integrations import inbox
from billing_console.integrations.stripe.sandbox.builders import (
    create_customer,
    draft_invoice,
    open_invoice,
    paid_invoice,
)
from cases.models import StripeLink
from tests.cases.factories import make_case
from tests.refunds.conftest import api_client

LINES = [("Pro plan, March", 6_000), ("Extra seats × 4", 4_000)]


@pytest.fixture(autouse=True)
def default_policy(refund_policy):
    """Credit memos run under the same money policy as refunds."""


@pytest.fixture
def customer(sandbox):
    return create_customer(sandbox.client, name="Ada Lovelace", email="ada@example.com",
                           payment_method="pm_card_visa")


@pytest.fixture
def case(customer):
    return make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)


@pytest.fixture
def invoices(sandbox, customer):
    """One invoice of 100.00 USD in each state the console meets."""
    def make(builder):
        return builder(sandbox.client, customer=customer.id, lines=LINES)

    return {"draft": make(draft_invoice), "open": make(open_invoice),
            "paid": make(paid_invoice)}


def memo_body(case, invoice, **overrides):
    return {"case_id": case.pk, "invoice_id": invoice.id, "amount": 2_500,
            "settle_to": "customer_balance", "stripe_reason": "order_change",
            "memo": "Goodwill for the March outage.", "reason_code": "service_issue",
            "note": "Outage on 3 March; agreed a partial credit.", **overrides}


def post_memo(user, body, path="/api/v1/credit-memos/", key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api_client(user).post(path, body, format="json", **headers)


def credit_notes(sandbox, invoice):
    return sandbox.client.v1.credit_notes.list(params={"invoice": invoice.id}).data


def deliver(sandbox, event_type):
    """Every event of `event_type` the sandbox raised, as JSON on the wire, through the
    inbox, twice over."""
    events = sandbox.get_json(f"/v1/events?type={event_type}&limit=100")["data"]
    for event in [*events, *events]:
        stored, _ = inbox.accept(source="stripe", event_id=event["id"],
                                 event_type=event["type"], payload=event)
        inbox.process(stored.pk)
    return events

"""An invoice or subscription of another Stripe customer than the case's is refused in
words that say what is wrong and what to do."""

import pytest

from billing_console.integrations.stripe.sandbox.builders import (
    create_customer,
    open_invoice,
    recurring_price,
    subscribe,
)
from tests.credit_memos.conftest import LINES, memo_body, post_memo

TO_DO = ("or, if the case is linked to the wrong customer, correct the link on its Stripe "
         "panel first.")


@pytest.fixture
def stranger(sandbox):
    return create_customer(sandbox.client, name="Bo Strand", email="bo@example.com",
                           payment_method="pm_card_visa")


@pytest.mark.parametrize("path", ["/api/v1/credit-memos/", "/api/v1/credit-memos/preview/"])
def test_another_customers_invoice_is_refused_in_words(case, sandbox, stranger, specialist,
                                                       path):
    invoice = open_invoice(sandbox.client, customer=stranger.id, lines=LINES)

    response = post_memo(specialist, memo_body(case, invoice), path)

    assert response.status_code == 409 and response.json()["code"] == "invoice"
    assert response.json()["message"] == (
        "That invoice belongs to another Stripe customer than the one this case is linked "
        f"to. Choose one of the case's customer's invoices, {TO_DO}")


def test_another_customers_subscription_is_refused_in_words(case, sandbox, stranger,
                                                            specialist):
    price = recurring_price(sandbox.client, product_name="Basic", unit_amount=1_000)
    subscription = subscribe(sandbox.client, customer=stranger.id, price=price.id)

    response = post_memo(specialist, {
        "case_id": case.pk, "subscription_id": subscription.id,
        "kind": "subscription_cancel_at_end", "reason_code": "courtesy",
        "note": "Asked on the phone."}, "/api/v1/subscription-changes/")

    assert response.status_code == 409 and response.json()["code"] == "subscription"
    assert "belongs to another Stripe customer" in response.json()["message"]
    assert response.json()["message"].endswith(TO_DO)

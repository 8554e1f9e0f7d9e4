"""Every create that takes an `Idempotency-Key` keeps nothing for a request it refuses,
so the same key with the body corrected goes through; and an invoice or subscription
Stripe does not have is a 404 on the create and its preview."""

import pytest

from billing_console.integrations.stripe.sandbox.builders import recurring_price, subscribe
from money_actions.models import IdempotentRequest, MoneyAction
from tests.credit_memos.conftest import memo_body, post_memo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subscription(sandbox, customer):
    price = recurring_price(sandbox.client, product_name="Basic", unit_amount=1_000)
    return subscribe(sandbox.client, customer=customer.id, price=price.id, quantity=2)


def _bodies(case, invoices, subscription):
    """(path, a body it takes, a mistake in it that a rule or the schema refuses)."""
    common = {"case_id": case.pk, "reason_code": "courtesy", "note": "Agreed on the phone."}
    return {
        "credit-memo": ("/api/v1/credit-memos/", memo_body(case, invoices["open"]),
                        {"amount": 10**7}),
        "invoice-adjustment": ("/api/v1/invoice-adjustments/",
                               {**common, "kind": "invoice_void",
                                "invoice_id": invoices["open"].id},
                               {"invoice_id": invoices["paid"].id}),
        "subscription-change": ("/api/v1/subscription-changes/",
                                {**common, "kind": "subscription_cancel_at_end",
                                 "subscription_id": subscription.id},
                                {"kind": "refund"}),
    }


@pytest.mark.parametrize("name", ["credit-memo", "invoice-adjustment", "subscription-change"])
def test_a_refused_request_keeps_nothing_and_its_key_goes_through_corrected(
        case, invoices, subscription, sandbox, specialist, name):
    path, body, mistake = _bodies(case, invoices, subscription)[name]

    refused = post_memo(specialist, {**body, **mistake}, path, key=f"retry-{name}")
    assert 400 <= refused.status_code < 500, refused.json()
    assert not IdempotentRequest.objects.exists()

    done = post_memo(specialist, body, path, key=f"retry-{name}")
    again = post_memo(specialist, body, path, key=f"retry-{name}")

    assert done.status_code == again.status_code == 201, done.json()
    assert again["Idempotent-Replayed"] == "true"
    assert MoneyAction.objects.count() == 1


@pytest.mark.parametrize("path, field", [
    ("/api/v1/credit-memos/", "invoice_id"),
    ("/api/v1/credit-memos/preview/", "invoice_id"),
    ("/api/v1/invoice-adjustments/", "invoice_id"),
    ("/api/v1/subscription-changes/", "subscription_id"),
    ("/api/v1/subscription-changes/preview/", "subscription_id"),
])
def test_an_object_stripe_does_not_have_is_a_404(case, invoices, subscription, sandbox,
                                                 specialist, path, field):
    bodies = _bodies(case, invoices, subscription)
    body = {"/api/v1/credit-memos/": bodies["credit-memo"][1],
            "/api/v1/invoice-adjustments/": bodies["invoice-adjustment"][1],
            "/api/v1/subscription-changes/": {
                **bodies["subscription-change"][1], "kind": "subscription_change",
                "quantity": 1}}[path.removesuffix("preview/")]
    missing = "in_NoSuchInvoice" if field == "invoice_id" else "sub_NoSuchSubscription"

    response = post_memo(specialist, {**body, field: missing}, path)

    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "not_found" and missing in response.json()["message"]

"""Forms prepared by the case page's suggestions: the credit of seats an invoice billed
after they were removed, and a cancellation at period end. The address names the
suggestion only; the page reads Stripe again and fills in what still holds, so a stale or
tampered address opens the usual blank form, and the preview checks what was filled in."""

from billing_console.integrations.stripe.sandbox.builders import recurring_price, subscribe
from money_actions.models import MoneyAction
from tests.refunds.conftest import signed_in
from tests.refunds.test_prepared_refund import prefilled


def team_of_five(sandbox, customer):
    """A subscription of 5 seats at 19.00 USD, billed and paid: (subscription, invoice)."""
    price = recurring_price(sandbox.client, product_name="Console Team", unit_amount=1_900)
    subscription = subscribe(sandbox.client, customer=customer.id, price=price.id, quantity=5)
    return subscription, sandbox.client.v1.invoices.retrieve(subscription.latest_invoice)


def seats_now(sandbox, subscription, quantity):
    item = subscription["items"]["data"][0]
    sandbox.client.v1.subscriptions.update(subscription.id, params={
        "items": [{"id": item.id, "quantity": quantity}], "proration_behavior": "none"})


def memo_url(case, invoice, suggested="overbilled_seats"):
    return f"/actions/credit-memo/{case.pk}/{invoice.id}/?suggested={suggested}"


def test_the_suggested_credit_of_a_removed_seat_is_prefilled_and_previewed_as_filled(
        case, customer, sandbox, specialist):
    subscription, invoice = team_of_five(sandbox, customer)
    seats_now(sandbox, subscription, 4)
    client = signed_in(specialist)

    form = prefilled(client, memo_url(case, invoice))
    shown = client.post(f"/actions/credit-memo/{case.pk}/{invoice.id}/",
                        {**form, "preview": "1"})

    assert form["line_0_quantity"] == 1
    assert (form["stripe_reason"], form["reason_code"]) == ("order_change", "billing_error")
    assert form["note"] == (f"Invoice {invoice.number} billed 5 seats; the subscription has "
                            "4 since seats were removed, so the overbilled seat is credited.")
    preview = shown.context["preview"]
    assert preview.confirm_label == "Confirm credit memo of 19.00 USD"
    assert any("comes to 19.00 USD" in verdict.explanation for verdict in preview.verdicts)
    assert not MoneyAction.objects.exists()


def test_a_stale_or_tampered_suggestion_opens_the_usual_form(case, customer, sandbox,
                                                             specialist):
    subscription, invoice = team_of_five(sandbox, customer)
    client = signed_in(specialist)
    blank = prefilled(client, f"/actions/credit-memo/{case.pk}/{invoice.id}/")

    seats_now(sandbox, subscription, 5)  # no seat was removed
    stale = prefilled(client, memo_url(case, invoice))
    seats_now(sandbox, subscription, 3)
    tampered = prefilled(client, memo_url(case, invoice, "overbilled_seats&line_0_quantity=5"))
    unknown = prefilled(client, memo_url(case, invoice, "refund_everything"))

    assert stale == unknown == blank
    assert tampered["line_0_quantity"] == 2


def test_the_suggested_cancellation_at_period_end_is_prefilled(case, customer, sandbox,
                                                               specialist):
    price = recurring_price(sandbox.client, product_name="Console Pro", unit_amount=4_900)
    subscription = subscribe(sandbox.client, customer=customer.id, price=price.id)
    url = f"/actions/subscription/{case.pk}/{subscription.id}/subscription_cancel_at_end/"
    client = signed_in(specialist)

    form = prefilled(client, f"{url}?suggested=cancel_at_period_end")
    blank = prefilled(client, url)
    sandbox.client.v1.subscriptions.update(subscription.id,
                                           params={"cancel_at_period_end": True})
    stale = prefilled(client, f"{url}?suggested=cancel_at_period_end")

    assert form["reason_code"] == "cancellation"
    assert form["note"].startswith("The customer asked to cancel: the subscription to Console "
                                   "Pro monthly runs to the end of the period paid for, on ")
    assert stale == blank == {"reason_code": "", "note": ""}

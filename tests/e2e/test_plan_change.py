"""A plan change in Chromium, against the Stripe sandbox: a specialist picks the new plan
from the list by its name, period and amount, sets the quantity, and confirms the amount
the confirm button shows; Stripe then has the new plan and quantity, and the console's
action the amount that was shown."""

import re

import pytest

from billing_console.integrations.stripe.sandbox.builders import create_customer, subscribe
from billing_console.money import to_minor_units
from cases.models import Category
from money_actions.models import MoneyAction, State
from tests.cases.factories import make_case


@pytest.fixture
def subscribed_case(stripe_sandbox, zendesk_sandbox, refund_policy):
    customer = create_customer(stripe_sandbox, name="Tomas Novak", email="tomas@example.com",
                               payment_method="pm_card_visa")
    pro = stripe_sandbox.v1.products.create(params={"name": "Console Pro"})
    team = stripe_sandbox.v1.products.create(params={"name": "Console Team"})
    prices = {name: stripe_sandbox.v1.prices.create(params={
        "product": product.id, "unit_amount": amount, "currency": "usd",
        "recurring": {"interval": interval}})
        for name, product, amount, interval in (("pro", pro, 4_900, "month"),
                                                ("pro_annual", pro, 49_000, "year"),
                                                ("team", team, 1_900, "month"))}
    subscription = subscribe(stripe_sandbox, customer=customer.id, price=prices["pro"].id)
    ticket = zendesk_sandbox.create_ticket(subject="Move us to the team plan",
                                           comment={"body": "Three seats of Team, please."},
                                           tags=["billing_escalation"])
    case = make_case(zendesk_ticket_id=ticket["id"], subject="Move us to the team plan",
                     category=Category.OTHER, stripe_customer_id=customer.id,
                     stripe_link="verified")
    return case, subscription, prices


def test_a_specialist_picks_the_new_plan_from_the_list_and_confirms_the_amount_shown(
        subscribed_case, stripe_sandbox, eager_tasks, actors, page, sign_in):
    case, subscription, prices = subscribed_case
    sign_in("specialist")
    page.goto(f"/cases/{case.pk}/")
    change = page.locator(f"a[data-action='subscription_change'][href*='{subscription.id}']")
    change.wait_for(timeout=15_000)
    assert "Console Pro monthly · 49.00 USD / month" in \
        page.locator("tr", has=change).inner_text()
    change.click()

    assert page.locator("input[name=price_id]").count() == 0
    assert page.input_value("input[name=quantity]") == "1"
    page.select_option("select[name=price_id]", label="Console Team · monthly · 19.00 USD")
    page.fill("input[name=quantity]", "3")
    page.select_option("select[name=proration_behavior]", "always_invoice")
    page.select_option("select[name=reason_code]", "courtesy")
    page.fill("textarea[name=note]", "Customer moves to three seats of Team from today.")
    page.click("button[name=preview]")

    facts = page.locator("#preview-facts").inner_text()
    assert "Console Pro monthly × 1 → Console Team monthly × 3" in facts
    lines = page.locator("#preview-lines").inner_text()
    assert "Unused time on 1 × Console Pro" in lines
    assert "Remaining time on 3 × Console Team" in lines
    button = page.locator("#confirm-action").inner_text()
    shown = re.fullmatch(r"Confirm plan change: customer pays ([\d,.]+) USD now", button)
    assert shown, button
    page.click("#confirm-action")
    page.locator(".message.success").wait_for()

    [item] = stripe_sandbox.v1.subscriptions.retrieve(subscription.id)["items"].data
    assert (item.price.id, item.quantity) == (prices["team"].id, 3)
    action = MoneyAction.objects.get()
    assert action.state == State.SUCCEEDED
    assert action.amount == to_minor_units(shown.group(1), "usd")
    assert page.console_errors == []

"""The duplicate charge job in Chromium, as an expert does it from the case page: the panel
suggests refunding the later of two equal charges, `s` and Enter open the prepared form,
and preview and confirm refund it in full, with nothing typed."""

import time

import pytest

from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from cases.models import Category
from money_actions.models import MoneyAction, State
from tests.cases.factories import make_case


@pytest.fixture
def charged_twice(stripe_sandbox, zendesk_sandbox, refund_policy):
    customer = create_customer(stripe_sandbox, name="Ava Okafor", email="ava@example.com")
    kept = charge(stripe_sandbox, customer=customer.id, amount=1_750)
    time.sleep(1.1)  # a second apart, so which is the later one is plain
    later = charge(stripe_sandbox, customer=customer.id, amount=1_750)
    ticket = zendesk_sandbox.create_ticket(subject="Charged twice for the same invoice",
                                           comment={"body": "Two identical charges."},
                                           tags=["billing_escalation"])
    case = make_case(zendesk_ticket_id=ticket["id"], subject="Charged twice",
                     category=Category.DUPLICATE_CHARGE, stripe_customer_id=customer.id,
                     stripe_link="verified")
    return case, kept, later


def test_the_suggested_refund_of_a_duplicate_takes_no_typing(
        charged_twice, stripe_sandbox, eager_tasks, actors, page, sign_in):
    case, kept, later = charged_twice
    sign_in("specialist")
    page.goto(f"/cases/{case.pk}/")
    suggestion = page.locator("#panel-suggestions [data-suggestion]").first
    suggestion.wait_for(timeout=15_000)  # in the lazy Stripe panel

    page.keyboard.press("s")
    assert page.evaluate("document.activeElement.dataset.suggestion") == "duplicate"
    page.keyboard.press("Enter")
    page.locator("button[name=preview]").click()
    page.locator("#approval-verdict").wait_for()
    assert "Within policy" in page.locator("#approval-verdict").inner_text()
    page.locator("#confirm-action").click()
    page.locator(".message.success", has_text="Refund of 17.50 USD on the charge of").wait_for()

    refunds = stripe_sandbox.v1.refunds.list(params={"limit": 10}).data
    assert [(refund.charge, refund.amount) for refund in refunds] == [(later, 1_750)]
    action = MoneyAction.objects.get()
    assert (action.state, action.reason_code) == (State.SUCCEEDED, "duplicate_charge")
    assert action.note.endswith("which is kept; refunded in full.")
    assert page.console_errors == []

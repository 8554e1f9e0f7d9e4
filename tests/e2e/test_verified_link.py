"""In Chromium: a customer matched by the requester's email is unverified, so money cannot
move; a specialist confirms it on the case, then refunds."""

import pytest

from audit.models import AuditEvent
from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from cases.models import Category, StripeLink
from cases.tasks import link_stripe_customer
from money_actions.models import MoneyAction, State
from tests.cases.factories import make_case
from tests.e2e.test_refunds import request_refund, stripe_refunds


@pytest.fixture
def email_matched_case(stripe_sandbox, zendesk_sandbox, refund_policy):
    customer = create_customer(stripe_sandbox, name="Ben Lindqvist",
                               email="ben.lindqvist@example.com")
    charge_id = charge(stripe_sandbox, customer=customer.id, amount=10_000)
    ticket = zendesk_sandbox.create_ticket(subject="Refund please",
                                           comment={"body": "I was charged by mistake."},
                                           tags=["billing_escalation"])
    case = make_case(zendesk_ticket_id=ticket["id"], subject="Refund please",
                     category=Category.REFUND_REQUEST,
                     requester_email="ben.lindqvist@example.com")
    link_stripe_customer.apply(args=[case.pk])  # the intake's follow-up: matched by email
    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.UNVERIFIED, customer.id)
    return case, customer.id, charge_id


def test_a_specialist_confirms_an_email_matched_customer_then_refunds(
        email_matched_case, stripe_sandbox, zendesk_sandbox, eager_tasks, actors, page,
        sign_in):
    case, customer_id, charge_id = email_matched_case
    sign_in("specialist")

    # Unverified: the panel says so, and the refund is refused with how to confirm.
    page.goto(f"/cases/{case.pk}/")
    panel = page.locator("#stripe-link-unverified")
    panel.wait_for(timeout=15_000)
    assert "money cannot move until a specialist confirms it" in panel.inner_text()
    page.goto(f"/refunds/new/{case.pk}/{charge_id}/")
    page.fill("input[name=amount]", "25.00")
    page.select_option("select[name=reason_code]", "courtesy")
    page.fill("textarea[name=note]", "Charged after cancelling; refund agreed.")
    page.click("button[name=preview]")
    page.get_by_text("nobody has confirmed it is the requester").wait_for()
    assert MoneyAction.objects.count() == 0

    # Confirmed from the case's Stripe panel, then refunded.
    page.goto(f"/cases/{case.pk}/")
    page.click("text=Confirm this customer is the requester", timeout=15_000)
    page.get_by_text("Ben Lindqvist is confirmed as this case's Stripe customer.").wait_for()
    request_refund(page, case, charge_id, "25.00")
    page.click("#confirm-action")
    page.locator(".message.success", has_text="Refund of 25.00 USD on the charge of").wait_for()

    assert [refund.amount for refund in stripe_refunds(stripe_sandbox, charge_id)] == [2_500]
    assert MoneyAction.objects.get().state == State.SUCCEEDED
    confirmed = AuditEvent.objects.get(action="case.stripe_customer_confirmed")
    assert confirmed.after == {"customer": customer_id, "link": "verified"}
    # The one error is the refused preview's 400, the refusal shown above.
    assert page.console_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"]

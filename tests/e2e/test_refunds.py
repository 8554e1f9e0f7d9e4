"""Refunds in Chromium, against both sandboxes: a specialist refunds half a charge from the
case page with a double click on confirm; a refund above the limit waits for finance, who
approves it on /approvals/; each ends with one Stripe refund and a note on the ticket."""

import pytest

from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from cases.models import Category
from money_actions.models import MoneyAction, State
from tests.cases.factories import make_case


@pytest.fixture
def refund_case(stripe_sandbox, zendesk_sandbox, refund_policy):
    customer = create_customer(stripe_sandbox, name="Ava Okafor", email="ava@example.com")
    small = charge(stripe_sandbox, customer=customer.id, amount=10_000)
    large = charge(stripe_sandbox, customer=customer.id, amount=90_000)
    ticket = zendesk_sandbox.create_ticket(subject="Please refund me",
                                           comment={"body": "I was charged by mistake."},
                                           tags=["billing_escalation"])
    case = make_case(zendesk_ticket_id=ticket["id"], subject="Please refund me",
                     category=Category.REFUND_REQUEST, stripe_customer_id=customer.id,
                     stripe_link="verified")
    return case, small, large


def request_refund(page, case, charge_id, amount):
    page.goto(f"/cases/{case.pk}/")
    page.click(f"a[data-refund='{charge_id}']", timeout=15_000)  # in the lazy Stripe panel
    page.fill("input[name=amount]", amount)
    page.select_option("select[name=reason_code]", "courtesy")
    page.fill("textarea[name=note]", "Charged after cancelling; refund agreed.")
    page.click("button[name=preview]")
    page.locator("#approval-verdict").wait_for()


def internal_notes(zendesk_sandbox, case):
    _, body = zendesk_sandbox.call(
        "GET", f"/api/v2/tickets/{case.zendesk_ticket_id}/comments.json")
    return [comment["body"] for comment in body["comments"] if not comment["public"]]


def stripe_refunds(stripe_sandbox, charge_id):
    return stripe_sandbox.v1.refunds.list(params={"charge": charge_id}).data


def test_a_specialist_refunds_half_a_charge_and_a_double_click_refunds_once(
        refund_case, stripe_sandbox, zendesk_sandbox, eager_tasks, actors, page, sign_in):
    case, small, _ = refund_case
    sign_in("specialist")

    request_refund(page, case, small, "50.00")
    assert "Within policy" in page.locator("#approval-verdict").inner_text()
    # Chromium sends one of the two submits; confirms that do reach the server together
    # are tested in tests/refunds/test_concurrency.py.
    page.dblclick("#confirm-action")
    page.locator(".message.success", has_text="Refund of 50.00 USD on the charge of").wait_for()

    assert [refund.amount for refund in stripe_refunds(stripe_sandbox, small)] == [5_000]
    action = MoneyAction.objects.get()
    assert action.state == State.SUCCEEDED
    assert any(note.startswith("Refunded 50.00 USD of the charge of ")
               for note in internal_notes(zendesk_sandbox, case))
    assert page.console_errors == []


def test_a_refund_above_the_limit_waits_for_finance_who_approves_it(
        refund_case, stripe_sandbox, zendesk_sandbox, eager_tasks, actors, page, sign_in):
    case, _, large = refund_case
    sign_in("specialist")

    request_refund(page, case, large, "600.00")
    assert "Needs approval" in page.locator("#approval-verdict").inner_text()
    assert "Above the auto-approve limit of 500.00 USD" in page.content()
    page.click("#confirm-action")
    page.get_by_text("waits for finance").wait_for()
    assert stripe_refunds(stripe_sandbox, large) == []

    sign_in("finance")
    page.goto("/approvals/")
    page.get_by_text("Currency limit: Above the auto-approve limit").wait_for()
    page.fill("textarea[name=note]", "Agreed with the account manager.")
    page.get_by_role("button", name="Approve 600.00 USD").click()
    page.get_by_text("approved; it is on its way to Stripe").wait_for()

    assert [refund.amount for refund in stripe_refunds(stripe_sandbox, large)] == [60_000]
    action = MoneyAction.objects.get()
    assert (action.state, action.approved_by.username) == (State.SUCCEEDED, "finance")
    assert any(note.startswith("Refunded 600.00 USD of the charge of ")
               for note in internal_notes(zendesk_sandbox, case))
    assert page.console_errors == []

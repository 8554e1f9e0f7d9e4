"""A credit memo on a taxed invoice in Chromium, against the Stripe sandbox: a specialist
credits one line of an invoice with 20% VAT on top, sees the tax credited in the preview,
and finds it on the credit memo Stripe created."""

import pytest

from billing_console.integrations.stripe.sandbox.builders import (
    create_customer,
    paid_invoice,
    tax_rate,
)
from cases.models import Category
from money_actions.models import MoneyAction, State
from tests.cases.factories import make_case


@pytest.fixture
def taxed_case(stripe_sandbox, zendesk_sandbox, refund_policy):
    customer = create_customer(stripe_sandbox, name="Rosa Garcia", email="rosa@example.com",
                               payment_method="pm_card_visa")
    vat = tax_rate(stripe_sandbox, display_name="VAT", percentage=20, inclusive=False,
                   jurisdiction="GB")
    invoice = paid_invoice(stripe_sandbox, customer=customer.id,
                           lines=[("Pro plan, November", 5_000), ("Extra seats", 2_000)],
                           tax_rates=[vat.id])
    ticket = zendesk_sandbox.create_ticket(subject="Charged for seats I removed",
                                           comment={"body": "Please credit the plan."},
                                           tags=["billing_escalation"])
    case = make_case(zendesk_ticket_id=ticket["id"], subject="Charged for seats I removed",
                     category=Category.INVOICE_DISPUTE, stripe_customer_id=customer.id,
                     stripe_link="verified")
    return case, invoice


def test_a_specialist_credits_one_line_and_sees_the_tax_it_credits(
        taxed_case, stripe_sandbox, zendesk_sandbox, eager_tasks, actors, page, sign_in):
    case, invoice = taxed_case
    sign_in("specialist")
    page.goto(f"/cases/{case.pk}/")
    page.click(f"a[data-action='credit-memo'][href*='{invoice.id}']", timeout=15_000)

    summary = page.locator(".charge-summary").inner_text()
    assert "50.00 USD · 14.00 USD" not in summary and "70.00 USD · 14.00 USD" in summary
    assert page.locator("table", has_text="Tax rate").inner_text().count("20% VAT") == 2
    page.fill("input[name=line_0_amount]", "10.00")
    page.check("input[name=settle_to][value=customer_balance]")
    page.select_option("select[name=reason_code]", "service_issue")
    page.fill("textarea[name=note]", "Seats removed on 3 November; credit agreed.")
    page.click("button[name=preview]")

    facts = page.locator("#preview-facts").inner_text()
    assert "10.00 USD + 20% VAT 2.00 USD = 12.00 USD" in facts
    assert "total 84.00 USD, credited 12.00 USD, left to pay 0.00 USD" in facts
    page.click("#confirm-action")
    page.locator(".message.success").wait_for()

    [note] = stripe_sandbox.v1.credit_notes.list(params={"invoice": invoice.id}).data
    assert (note.amount, [tax.amount for tax in note.total_taxes]) == (1_200, [200])
    assert (MoneyAction.objects.get().state, MoneyAction.objects.get().amount) == (
        State.SUCCEEDED, 1_200)
    page.goto(f"/cases/{case.pk}/")
    row = page.locator("tr", has_text=note.number)
    row.wait_for(timeout=15_000)
    assert "12.00 USD" in row.inner_text() and "2.00 USD" in row.inner_text()
    assert page.console_errors == []

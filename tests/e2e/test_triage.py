"""A specialist's triage in Chromium, against both sandboxes: filter the queue, assign to
me from the keyboard, open the case, see the Stripe panel, add a note, resolve with a code;
the Zendesk ticket then carries the internal note, the tag and the status."""

import pytest
from django.utils import timezone

from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from cases.models import CaseEvent, Category, State
from tests.cases.factories import make_case

XSS_SUBJECT = "Charged twice <script>alert(1)</script>"
XSS_COMMENT = "See my statement <img src=x onerror=alert(1)>"


@pytest.fixture
def escalated_case(stripe_sandbox, zendesk_sandbox):
    customer = create_customer(stripe_sandbox, name="Ava Okafor", email="ava@example.com")
    charge(stripe_sandbox, customer=customer.id, amount=1600)
    charge(stripe_sandbox, customer=customer.id, amount=1600)
    ticket = zendesk_sandbox.create_ticket(subject=XSS_SUBJECT, comment={"body": XSS_COMMENT},
                                           tags=["billing_escalation"])
    case = make_case(zendesk_ticket_id=ticket["id"], subject=XSS_SUBJECT,
                     category=Category.DUPLICATE_CHARGE, stripe_customer_id=customer.id,
                     stripe_link="verified", requester_email="ava@example.com")
    make_case(subject="Unrelated tax question", category=Category.TAX)
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.COMMENT, body=XSS_COMMENT,
                             public=True, created_at=timezone.now())
    return case, customer


def test_specialist_triages_and_resolves_a_case_from_the_keyboard(
        escalated_case, zendesk_sandbox, eager_tasks, actors, page, sign_in, live_server):
    case, customer = escalated_case
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in("specialist")

    page.select_option("select[name=category]", "duplicate_charge")
    page.click("form.filters button[type=submit]")
    assert page.locator("#queue-rows tr[data-case-id]").count() == 1
    row = page.locator(f"#queue-rows tr[data-case-id='{case.pk}']")
    assert XSS_SUBJECT in row.inner_text()

    page.locator("body").press("j")
    page.keyboard.press("a")
    row.get_by_text("specialist", exact=True).wait_for()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{case.pk}/")
    assert XSS_COMMENT in page.locator("main").inner_text()

    page.get_by_text(customer.id).first.wait_for(timeout=15_000)  # the lazy Stripe panel

    page.fill("textarea[name=body]", "Two charges of 16.00 USD three minutes apart.")
    page.check("input[name=post_to_zendesk]")
    page.click("form[action$='/notes/'] button[type=submit]")
    page.select_option("select[name=code]", "refunded")
    page.fill("textarea[name=summary]", "Refunded the duplicate charge.")
    page.click("form[action$='/resolve/'] button[type=submit]")
    page.get_by_text("Resolved", exact=False).first.wait_for()

    case.refresh_from_db()
    assert case.state == State.RESOLVED and case.assignee.username == "specialist"
    status, body = zendesk_sandbox.call("GET", f"/api/v2/tickets/{case.zendesk_ticket_id}.json")
    ticket = body["ticket"]
    assert ticket["status"] == "solved"
    assert "billing_console_resolved" in ticket["tags"]
    _, comments = zendesk_sandbox.call(
        "GET", f"/api/v2/tickets/{case.zendesk_ticket_id}/comments.json")
    notes = [c["body"] for c in comments["comments"] if not c["public"]]
    assert "Two charges of 16.00 USD three minutes apart." in notes
    assert dialogs == []
    assert page.console_errors == []

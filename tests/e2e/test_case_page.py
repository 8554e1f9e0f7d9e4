"""A specialist works a case in Chromium: the Stripe panel loads, a note goes to Zendesk, the
case is resolved from a reply template, and markup from Zendesk never runs."""

import pytest

from cases.models import CaseEvent, ReplyTemplate, StripeLink
from tests.cases.factories import make_case

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HOSTILE = f"{SCRIPT} {IMG}"


@pytest.fixture
def sandboxes(running_stripe, settings, zendesk_sandbox, eager_tasks):
    """Both sandboxes, and write-backs sent in the web thread as soon as their rows are
    committed, so the Zendesk ticket can be checked when the page answers."""
    running_stripe.point(settings)
    return running_stripe, zendesk_sandbox


@pytest.fixture
def hostile_case(sandboxes):
    stripe, zendesk = sandboxes
    customer = stripe.customer_with_history()[0]
    ticket = zendesk.create_ticket(subject=HOSTILE, comment={"body": f"Help {HOSTILE}"},
                                   tags=["billing_escalation"])
    case = make_case(zendesk_ticket_id=ticket["id"], subject=HOSTILE, description=HOSTILE,
                     requester_name=SCRIPT, stripe_customer_id=customer.id,
                     stripe_link=StripeLink.UNVERIFIED)
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.COMMENT, public=True,
                             body=f"Help {HOSTILE}", created_at=case.zendesk_created_at)
    ReplyTemplate.objects.create(name="Explained", body="Hi {requester_name}, all is well.")
    return case, customer, ticket


def _ticket(zendesk, ticket_id):
    return zendesk.call("GET", f"/api/v2/tickets/{ticket_id}.json")[1]["ticket"]


def _comments(zendesk, ticket_id):
    return zendesk.call("GET", f"/api/v2/tickets/{ticket_id}/comments.json")[1]["comments"]


def test_a_specialist_reads_notes_and_resolves_a_hostile_case(actors, page, sign_in, sandboxes,
                                                              hostile_case):
    _, zendesk = sandboxes
    case, customer, ticket = hostile_case
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in("specialist")

    page.goto(f"/cases/{case.pk}/")
    assert page.locator("h1").inner_text() == HOSTILE
    assert f"Help {HOSTILE}" in page.locator(".timeline").inner_text()
    panel = page.locator("#stripe-panel")
    panel.get_by_role("link", name="Ava Okafor").wait_for()
    assert customer.email in panel.inner_text()
    assert panel.locator("table").count() >= 3
    assert "nobody has confirmed it yet" in panel.inner_text()

    page.fill("#id_body", "Checked Stripe: one charge is a duplicate.")
    page.check("#id_post_to_zendesk")
    page.get_by_role("button", name="Save note").click()
    page.get_by_text("Note saved; it is on its way").wait_for()

    page.select_option("#reply-template", label="Explained")
    assert page.input_value("#id_public_reply") == f"Hi {SCRIPT}, all is well."
    page.fill("#id_public_reply", "Hi Ava, all is well.")
    page.select_option("#id_code", "explained")
    page.fill("#id_summary", "The second charge was a pre-authorisation.")
    page.get_by_role("button", name="Resolve case").click()
    page.get_by_text("Case resolved; Zendesk will get the resolution").wait_for()
    assert page.locator("#case-state").inner_text() == "Resolved"

    assert dialogs == []
    assert page.console_errors == []
    updated = _ticket(zendesk, ticket["id"])
    assert "billing_console_resolved" in updated["tags"] and updated["status"] == "solved"
    bodies = {(c["body"], c["public"]) for c in _comments(zendesk, ticket["id"])}
    assert ("Checked Stripe: one charge is a duplicate.", False) in bodies
    assert ("Hi Ava, all is well.", True) in bodies


def test_the_case_page_works_from_the_keyboard_and_on_a_phone(actors, page, sign_in,
                                                              sandboxes, hostile_case):
    case = hostile_case[0]
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("specialist")

    page.goto(f"/cases/{case.pk}/")
    page.locator("#stripe-panel table").first.wait_for()
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    page.focus("#id_body")
    page.keyboard.type("Typed from the keyboard.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Save note"
    page.keyboard.press("Enter")
    page.get_by_text("Note saved.").wait_for()
    assert page.console_errors == []


def test_tier2_sees_the_summary_without_stripe_or_controls(actors, page, sign_in, sandboxes,
                                                           hostile_case):
    case = hostile_case[0]
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in("tier2")

    # The case page's link takes Tier 2 to the summary they may see.
    page.goto(f"/cases/{case.pk}/")
    assert page.url.endswith(f"/cases/{case.pk}/summary/")

    assert page.locator("h1").inner_text() == HOSTILE
    assert page.locator("#stripe-panel").count() == 0
    # The one form is a question to billing, the only thing Tier 2 writes.
    assert [form.get_attribute("action") for form in page.locator("main form").all()] == [
        "/guidance/questions/ask/"]
    assert dialogs == [] and page.console_errors == []


def test_r_goes_to_the_resolution_form_but_types_in_a_field(actors, page, sign_in):
    case = make_case(subject="Charged twice for March")
    sign_in("specialist")
    page.goto(f"/cases/{case.pk}/")
    resolution = page.locator("#resolve-form select[name=code]")
    assert "r go to the resolution form" in page.locator(".case-head").inner_text()

    page.locator("#note-form textarea").type("refund")
    assert page.locator("#note-form textarea").input_value() == "refund"
    page.keyboard.press("Escape")
    page.locator("h1").click()
    page.keyboard.press("r")

    assert resolution.evaluate("field => field === document.activeElement")
    assert resolution.is_visible() and resolution.evaluate(
        "field => field.getBoundingClientRect().top < window.innerHeight")
    assert page.console_errors == []

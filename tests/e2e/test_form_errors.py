"""In Chromium: a refused form's page opens on its errors, wherever the form is: the error
summary is focused and in view (after the case page's Stripe panel has come in above it),
lists each error linked to its field, and no page shows an empty message box."""

import pytest

from cases.models import StripeLink
from tests.cases.factories import make_case

# Every box that says something to the person: none may be empty.
EMPTY_BOXES = """() => [...document.querySelectorAll('[role=alert], [role=status], .message')]
    .filter(box => box.offsetParent !== null && !box.innerText.trim())
    .map(box => box.outerHTML)"""


@pytest.fixture
def sandboxes(running_stripe, settings, zendesk_sandbox):
    running_stripe.point(settings)
    return running_stripe, zendesk_sandbox


def _opens_on_its_errors(page):
    """The summary has the focus and is inside the window."""
    summary = page.locator("#error-summary")
    assert summary.evaluate("box => box === document.activeElement")
    top, bottom = summary.evaluate(
        "box => [box.getBoundingClientRect().top, box.getBoundingClientRect().bottom]")
    assert top >= 0 and bottom <= page.viewport_size["height"], (top, bottom)
    assert page.evaluate(EMPTY_BOXES) == []
    return summary


def test_a_refused_resolution_opens_on_its_errors_below_the_stripe_panel(actors, page, sign_in,
                                                                          sandboxes):
    stripe, _ = sandboxes
    customer = stripe.customer_with_history()[0]
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.UNVERIFIED)
    sign_in("specialist")
    page.goto(f"/cases/{case.pk}/")
    assert page.evaluate(EMPTY_BOXES) == []

    page.locator("#resolve-form button[type=submit]").click()
    page.locator("#stripe-panel table").first.wait_for()  # the panel came in above the form
    page.wait_for_load_state("networkidle")

    summary = _opens_on_its_errors(page)
    assert "Resolution code: Choose a resolution code." in summary.inner_text()
    summary.get_by_role("link", name="Summary: Write a summary of the resolution.").click()
    assert page.evaluate("document.activeElement.id") == "id_summary"
    assert page.console_errors == ["Failed to load resource: the server responded with a "
                                   "status of 400 (Bad Request)"]


def test_a_refused_reason_at_the_foot_of_the_policy_page_opens_on_its_error(actors, page,
                                                                            sign_in):
    sign_in("admin")
    page.goto("/manage/policy/")
    page.fill("#reason-add-form input[name=label]", "")
    page.locator("#reason-add-form button[type=submit]").click()
    page.wait_for_load_state()

    summary = _opens_on_its_errors(page)
    assert "New reason:" in summary.inner_text()

"""The queue in Chromium: the quiet refresh keeps the selection and shows new cases."""

from datetime import timedelta

from django.utils import timezone

from tests.cases.factories import make_case


def test_a_refresh_keeps_the_selected_case_and_shows_new_ones(actors, page, sign_in):
    now = timezone.now()
    first = make_case(subject="First", resolution_due=now + timedelta(hours=1))
    second = make_case(subject="Second", resolution_due=now + timedelta(hours=2))
    sign_in("specialist")
    page.locator("body").press("j")
    page.keyboard.press("j")
    selected = "#queue-rows tr[aria-selected=true]"
    assert page.locator(selected).get_attribute("data-case-id") == str(second.pk)

    newcomer = make_case(subject="Newly escalated", resolution_due=now + timedelta(minutes=5))
    with page.expect_response("**/cases/rows/**"):
        page.evaluate("htmx.trigger('#queue-rows', 'queue-refresh')")
    page.get_by_text("Newly escalated").wait_for()
    assert page.locator(selected).get_attribute("data-case-id") == str(second.pk)
    ids = page.locator("#queue-rows tr[data-case-id]").evaluate_all(
        "rows => rows.map(row => row.dataset.caseId)")
    assert ids == [str(newcomer.pk), str(first.pk), str(second.pk)]
    page.keyboard.press("k")
    assert page.locator(selected).get_attribute("data-case-id") == str(first.pk)
    assert page.console_errors == []


def test_slash_focuses_the_search_and_results_are_escaped(actors, page, sign_in):
    make_case(subject="<img src=x onerror=alert(1)> refund")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))
    sign_in("specialist")
    page.locator("body").press("/")
    page.keyboard.type("refund")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=refund**")
    assert "<img src=x onerror=alert(1)> refund" in page.locator("#queue-rows").inner_text()
    assert dialogs == []


def test_enter_opens_the_only_case_a_search_found(actors, page, sign_in):
    """The only result is the case to open: no `j` before Enter, whatever was selected."""
    make_case(subject="Charged twice for March")
    found = make_case(subject="Seat removed, still billed")
    sign_in("specialist")
    page.locator("body").press("j")
    page.keyboard.press("/")
    page.keyboard.type("Seat removed")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=Seat+removed**")

    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url.endswith(f"/cases/{found.pk}/")
    assert page.console_errors == []

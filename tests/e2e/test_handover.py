"""A shift hands over in Chromium: a specialist leaves a note for the next shift; the next
specialist signs in, opens the handover from the navigation and reads the note with what
changed since their own last shift ended (a case opened, a refund that failed), and
nothing from before it."""

from tests.cases.factories import make_case
from tests.handover.factories import failed_refund, linked_case


def test_a_shift_hands_over_with_a_note_and_the_changes_since_the_last_shift(
        actors, page, sign_in, stripe_sandbox):  # the case page at the end reads Stripe
    earlier = linked_case(subject="Opened during the last shift")
    failed_refund(earlier, actors["specialist"], why="Failed during the last shift.")

    sign_in("specialist2")  # the last shift of the one who takes over…
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You have signed out.").wait_for()  # …ends here

    opened = make_case(subject="Charged twice after the shift")
    later = linked_case(subject="Refund asked for after the shift")
    failed_refund(later, actors["specialist"], amount=4_200,
                  why="The customer's card was closed.")

    sign_in("specialist")
    page.get_by_role("link", name="Handover").click()
    page.fill("#note-form textarea[name=body]",
              f"Ticket #{later.zendesk_ticket_id}: the card was closed, ask the customer "
              "for another one.")
    page.click("#note-form button[type=submit]")
    page.get_by_text("Your note is left for the next shift.").wait_for()

    sign_in("specialist2")
    page.get_by_role("link", name="Handover").click()
    page.wait_for_url("**/handover/")
    assert "the end of your last shift" in page.locator("#since").inner_text()
    notes = page.locator("#notes").inner_text()
    assert "specialist" in notes and "the card was closed, ask the customer" in notes
    opened_list = page.locator("#opened").inner_text()
    assert f"Ticket #{opened.zendesk_ticket_id}" in opened_list
    assert "Charged twice after the shift" in opened_list
    assert "Opened during the last shift" not in opened_list
    actions = page.locator("#money-actions").inner_text()
    assert "Refund failed" in actions and "42.00 USD" in actions
    assert "The customer's card was closed." in actions
    assert "Failed during the last shift." not in actions
    page.locator("#money-actions").get_by_role(
        "link", name=f"Ticket #{later.zendesk_ticket_id}").click()
    page.wait_for_url(f"**/cases/{later.pk}/")
    assert page.console_errors == []

"""Tier 2 in the console: a link to a case lands on its summary, their home page lists
their escalations, and a ticket number that is not one gets its own message."""

import pytest

from cases.models import State
from tests.cases.factories import make_case
from tests.conftest import make_tier2, signed_in


def test_a_tier2_agent_following_a_case_link_lands_on_its_summary(tier2):
    case = make_case(subject="Charged twice in March")

    response = signed_in(tier2).get(f"/cases/{case.pk}/", follow=True)

    assert response.redirect_chain == [(f"/cases/{case.pk}/summary/", 302)]
    assert response.status_code == 200
    assert "Charged twice in March" in response.content.decode()


def test_a_case_link_to_someone_elses_case_is_not_found_for_tier2(db):
    stranger = make_tier2("other-agent", zendesk_user_id=12_345)
    case = make_case()

    response = signed_in(stranger).get(f"/cases/{case.pk}/", follow=True)

    assert response.status_code == 404
    assert "permission" not in response.content.decode().lower()


def test_specialists_still_get_the_whole_case_page(specialist):
    case = make_case()

    response = signed_in(specialist).get(f"/cases/{case.pk}/")

    assert response.status_code == 200 and 'id="timeline-heading"' in response.content.decode()


def test_the_tier2_home_lists_their_escalations_under_its_heading(tier2):
    mine = make_case(subject="Refund not received", state=State.WAITING_FINANCE)
    make_case(subject="Someone else's ticket", escalated_by_zendesk_id=1)

    page = signed_in(tier2).get("/guidance/").content.decode()

    listed = page[page.index("Your escalations"):page.index('id="find-ticket"')]
    assert f'href="/cases/{mine.pk}/summary/"' in listed
    assert f"Ticket #{mine.zendesk_ticket_id}: Refund not received" in listed
    assert State.WAITING_FINANCE.label in listed
    assert "Someone else's ticket" not in page


def test_the_tier2_home_says_when_they_have_no_escalations(db):
    newcomer = make_tier2("new-agent", zendesk_user_id=54_321)

    page = signed_in(newcomer).get("/guidance/").content.decode()

    listed = page[page.index("Your escalations"):page.index('id="find-ticket"')]
    assert "None yet" in listed


@pytest.mark.parametrize("typed", ["abc", "12a", "４８２１", "-5"])
def test_a_ticket_number_that_is_not_digits_gets_its_own_message(tier2, typed):
    response = signed_in(tier2).get("/cases/find/", {"ticket": typed})

    assert response.status_code == 400
    page = response.content.decode()
    assert "A ticket number is digits only" in page
    assert "No case for ticket" not in page


def test_a_number_with_no_case_still_says_so(tier2):
    response = signed_in(tier2).get("/cases/find/", {"ticket": "999999"})

    assert response.status_code == 404
    assert "No case for ticket 999999" in response.content.decode()

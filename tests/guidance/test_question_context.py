"""The question page shows the case it is about: its subject, its customer, and (to those
who may read money actions) the money actions on it not yet settled."""

import pytest

from guidance.services import question_ask
from money_actions.models import MoneyAction, State
from tests.cases.factories import make_case
from tests.conftest import signed_in


@pytest.fixture
def asked(tier2, specialist):
    case = make_case(subject="Charged twice in March", requester_name="Ava Okafor",
                     requester_email="ava.okafor@example.com")
    for state, amount in ((State.PENDING_APPROVAL, 60_000), (State.SUCCEEDED, 1_500)):
        MoneyAction.objects.create(
            kind="refund", case=case, stripe_customer_id="cus_A", stripe_target_id="ch_A",
            amount=amount, currency="usd", reason_code="courtesy", note="Double billed.",
            requested_by=specialist, state=state)
    return question_ask(asker=tier2, case=case, body="Is the refund on its way?")


def _case_card(page):
    return page[page.index('id="question-case"'):page.index("</section>",
                                                              page.index('id="question-case"'))]


def test_a_specialist_sees_the_case_and_its_unsettled_money_actions(asked, specialist):
    page = signed_in(specialist).get(f"/guidance/questions/{asked.pk}/").content.decode()

    card = _case_card(page)
    assert "Charged twice in March" in card
    assert "Ava Okafor" in card and "ava.okafor@example.com" in card
    assert "Refund of 600.00 USD" in card and "Waiting for approval" in card
    assert "15.00 USD" not in card  # settled: not pending


def test_the_asker_sees_the_case_but_no_money_actions(asked, tier2):
    page = signed_in(tier2).get(f"/guidance/questions/{asked.pk}/").content.decode()

    card = _case_card(page)
    assert "Charged twice in March" in card and "Ava Okafor" in card
    assert "600.00" not in page and "question-pending-actions" not in page


def test_a_case_with_nothing_unsettled_says_so(asked, specialist):
    MoneyAction.objects.filter(state=State.PENDING_APPROVAL).update(state=State.CANCELED)

    page = signed_in(specialist).get(f"/guidance/questions/{asked.pk}/").content.decode()

    assert "None waiting: every money action on this case is settled." in _case_card(page)


def test_a_question_about_no_case_shows_no_case(tier2, specialist):
    question = question_ask(asker=tier2, body="How do prorations work?")

    page = signed_in(specialist).get(f"/guidance/questions/{question.pk}/").content.decode()

    assert 'id="question-case"' not in page

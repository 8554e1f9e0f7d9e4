"""The card's last four digits in a reply a refund holds are for billing specialists only:
finance and Tier 2 read the reply with them masked, through the API as on pages."""

import pytest

from cases.replies import reply_as_seen_by
from money_actions.models import MoneyAction
from tests.refunds.conftest import api_client, post_refund, refund_body

REPLY = "Hi Ada, 40.00 USD is on its way back to your card ending 4242."


@pytest.fixture
def held(charged, specialist):
    """A refund waiting for approval, holding a reply that names the card's digits."""
    case, charge_id = charged
    response = post_refund(specialist, refund_body(
        case, charge_id, amount=4_000, stripe_reason="fraudulent", customer_reply=REPLY))
    assert response.status_code == 201, response.json()
    return MoneyAction.objects.get(pk=response.json()["id"])


def test_finance_reads_a_refunds_reply_without_the_cards_digits(held, finance, specialist):
    seen_by_finance = api_client(finance).get(f"/api/v1/refunds/{held.pk}/").json()
    seen_by_specialist = api_client(specialist).get(f"/api/v1/refunds/{held.pk}/").json()

    assert seen_by_finance["customer_reply"] == \
        "Hi Ada, 40.00 USD is on its way back to your card ending ••••."
    assert seen_by_specialist["customer_reply"] == REPLY


def test_tier_2_never_reads_the_cards_digits(held, tier2):
    response = api_client(tier2).get(f"/api/v1/refunds/{held.pk}/")

    assert response.status_code in (200, 403)
    assert "4242" not in response.content.decode()
    assert "4242" not in reply_as_seen_by("Your card ending in 4242", tier2)

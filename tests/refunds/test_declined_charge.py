"""A declined charge took nothing: its refund page, the API and the Charges table say so,
instead of speaking of a refund in full."""

import html

import pytest

from cases.models import StripeLink
from tests.cases.factories import make_case
from tests.refunds.conftest import new_charge, post_refund, refund_body, refund_url, signed_in

DECLINED = "This charge was declined: nothing was taken, so there is nothing to refund."


@pytest.fixture
def declined(sandbox, db):
    customer, charge_id = new_charge(sandbox, amount=9_900,
                                     payment_method="pm_card_chargeDeclined")
    return make_case(stripe_customer_id=customer, stripe_link=StripeLink.VERIFIED), charge_id


def test_a_declined_charges_refund_page_says_nothing_was_taken(declined, specialist):
    case, charge_id = declined

    page = html.unescape(signed_in(specialist).get(refund_url(case, charge_id))
                         .content.decode())

    assert "Nothing to refund" in page and DECLINED in page
    assert "refunded in full" not in page


def test_a_refund_of_a_declined_charge_through_the_api_says_nothing_was_taken(
        declined, specialist):
    case, charge_id = declined

    response = post_refund(specialist, refund_body(case, charge_id))

    assert response.status_code == 409
    assert response.json()["message"] == DECLINED


def test_the_charges_table_offers_no_refund_of_a_declined_charge(declined, sandbox,
                                                                 specialist):
    case, failed = declined
    _, succeeded = new_charge(sandbox, customer=case.stripe_customer_id, amount=1_000)

    panel = signed_in(specialist).get(f"/cases/{case.pk}/stripe/").content.decode()

    assert f'data-refund="{succeeded}"' in panel and f'data-refund="{failed}"' not in panel

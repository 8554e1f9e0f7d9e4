"""Money moves only on a verified link to the case's Stripe customer: an email match waits
for a specialist to confirm it, several candidates for one to be chosen, and a customer
named on the ticket for Stripe to confirm it exists. Page and API refuse alike, in words
that say why and how to confirm."""

import pytest

from audit.models import AuditEvent
from billing_console.exceptions import ApplicationError
from cases.models import StripeLink
from money_actions.models import MoneyAction
from money_actions.services import check_customer
from tests.cases.factories import make_case
from tests.refunds.conftest import (
    confirm,
    confirm_key,
    new_charge,
    post_refund,
    preview,
    refund_body,
    refunds_created,
    signed_in,
)


@pytest.fixture
def matched_by_email(sandbox, db):
    customer, charge_id = new_charge(sandbox)
    case = make_case(stripe_customer_id=customer, stripe_link=StripeLink.UNVERIFIED,
                     stripe_candidates=[{"id": customer, "name": "Ada", "email": ""}])
    return case, customer, charge_id


@pytest.fixture
def ambiguous(sandbox, db):
    customer, charge_id = new_charge(sandbox)
    case = make_case(stripe_customer_id="", stripe_link=StripeLink.AMBIGUOUS,
                     stripe_candidates=[{"id": customer, "name": "Ada", "email": ""},
                                        {"id": "cus_Other", "name": "Ada", "email": ""}])
    return case, customer, charge_id


def test_money_is_refused_on_an_unverified_link_by_api_and_page(
        matched_by_email, sandbox, specialist):
    case, customer, charge_id = matched_by_email

    response = post_refund(specialist, refund_body(case, charge_id))

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "customer_unverified"
    assert "matched by the requester's email" in body["message"]
    assert "Confirm this customer is the requester" in body["message"]
    page = preview(signed_in(specialist), case, charge_id)
    assert page.status_code == 400
    assert "matched by the requester&#x27;s email" in page.content.decode()
    assert not MoneyAction.objects.exists() and not refunds_created(sandbox)


def test_money_is_refused_on_an_ambiguous_link(ambiguous, sandbox, specialist):
    case, _, charge_id = ambiguous

    response = post_refund(specialist, refund_body(case, charge_id))

    assert response.status_code == 409
    assert response.json()["code"] == "customer_unverified"
    assert "Several Stripe customers share the requester's email" in response.json()["message"]
    assert not MoneyAction.objects.exists() and not refunds_created(sandbox)


@pytest.mark.parametrize("link", [StripeLink.UNVERIFIED, StripeLink.AMBIGUOUS,
                                  StripeLink.NAMED, StripeLink.NONE])
def test_every_money_request_checks_the_link_is_verified(db, link):
    case = make_case(stripe_customer_id="cus_Same", stripe_link=link)
    with pytest.raises(ApplicationError) as refused:
        check_customer(case, "cus_Same", noun="invoice")
    assert "money cannot move" in refused.value.message.lower() or link == StripeLink.NONE
    case.stripe_link = StripeLink.VERIFIED
    check_customer(case, "cus_Same", noun="invoice")  # no refusal


@pytest.mark.django_db(transaction=True)
def test_money_moves_once_a_specialist_confirms_the_email_match(
        matched_by_email, sandbox, specialist, eager_tasks):
    case, customer, charge_id = matched_by_email
    client = signed_in(specialist)

    confirmed = client.post(f"/cases/{case.pk}/stripe/customer/", {"customer_id": customer})
    assert confirmed.status_code == 302
    case.refresh_from_db()
    assert case.stripe_link == StripeLink.VERIFIED

    key = confirm_key(preview(client, case, charge_id).content.decode())
    assert confirm(client, case, charge_id, key).status_code == 302
    assert MoneyAction.objects.get(case=case).stripe_customer_id == customer
    assert len(refunds_created(sandbox)) == 1

    trail = AuditEvent.objects.get(action="case.stripe_customer_confirmed", case_id=case.pk)
    assert trail.actor_id == specialist.pk
    assert (trail.before, trail.after) == ({"customer": customer, "link": "unverified"},
                                           {"customer": customer, "link": "verified"})


def test_choosing_among_candidates_is_in_the_trail_and_lets_money_move(
        ambiguous, sandbox, specialist, eager_tasks):
    case, customer, charge_id = ambiguous

    signed_in(specialist).post(f"/cases/{case.pk}/stripe/customer/", {"customer_id": customer})

    trail = AuditEvent.objects.get(action="case.stripe_customer_confirmed", case_id=case.pk)
    assert (trail.before, trail.after) == ({"customer": "", "link": "ambiguous"},
                                           {"customer": customer, "link": "verified"})
    assert post_refund(specialist, refund_body(case, charge_id)).status_code == 201

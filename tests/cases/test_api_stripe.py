"""The case's Stripe snapshot through the API (`GET /api/v1/cases/<id>/stripe/`), read
through the gateway from the Stripe sandbox over HTTP: the case page's Stripe panel for
programs, to the roles that see the panel, minus what a role may not see."""

import pytest

from cases.models import StripeLink
from tests.cases.factories import make_case
from tests.conftest import api_client


@pytest.fixture
def stripe(running_stripe, settings):
    running_stripe.point(settings)
    return running_stripe


@pytest.fixture(scope="module")
def history(running_stripe):
    """One customer with some of everything, made once for the module."""
    return running_stripe.customer_with_history()


def _snapshot(user, case):
    return api_client(user).get(f"/api/v1/cases/{case.pk}/stripe/")


def test_a_specialist_reads_what_the_panel_shows(specialist, stripe, history):
    customer, invoice, refunded, disputed = history
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)

    response = _snapshot(specialist, case)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["stripe_link"] == StripeLink.VERIFIED
    assert (body["customer"]["id"], body["customer"]["name"], body["customer"]["email"]) == (
        customer.id, "Ava Okafor", customer.email)
    [subscription] = body["subscriptions"]
    assert subscription["items"][0]["plan_name"] == "Console Pro monthly"
    assert subscription["items"][0]["unit_amount"] == 4_900
    shown = {item["id"]: item for item in body["invoices"]}
    assert (shown[invoice.id]["total"], shown[invoice.id]["status"]) == (12_000, "paid")
    assert shown[invoice.id]["lines"][0]["description"] == "Onboarding"
    charges = {charge["id"]: charge for charge in body["charges"]}
    assert charges[refunded]["refundable_amount"] == 1_000
    assert [refund["amount"] for refund in charges[refunded]["refunds"]] == [800]
    assert charges[refunded]["card_last4"] == "4242"
    assert [dispute["charge"] for dispute in body["disputes"]] == [disputed]
    [note] = body["credit_notes"]
    assert (note["invoice"], note["amount"], note["currency"]) == (invoice.id, 2_000, "usd")
    assert charges[refunded]["created"].endswith("Z")  # a time in UTC


def test_finance_reads_it_without_the_card_digits(finance, stripe, history):
    case = make_case(stripe_customer_id=history[0].id, stripe_link=StripeLink.UNVERIFIED)

    response = _snapshot(finance, case)

    assert response.status_code == 200
    assert response.json()["stripe_link"] == StripeLink.UNVERIFIED
    charges = response.json()["charges"]
    assert charges and all(charge["card_last4"] is None for charge in charges)
    assert "4242" not in response.content.decode()


@pytest.mark.parametrize("role", ["tier2", "admin", "outsider"])
def test_roles_without_the_panel_are_refused(role, actors, stripe, history):
    case = make_case(stripe_customer_id=history[0].id, stripe_link=StripeLink.VERIFIED)

    response = _snapshot(actors[role], case)

    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("fields, code", [
    ({"stripe_link": StripeLink.NONE}, "no_stripe_customer"),
    ({"stripe_link": StripeLink.AMBIGUOUS, "stripe_candidates": [
        {"id": "cus_A", "name": "", "email": ""}, {"id": "cus_B", "name": "", "email": ""}]},
     "stripe_link_ambiguous"),
])
def test_a_case_without_one_customer_has_no_snapshot(fields, code, specialist, stripe):
    response = _snapshot(specialist, make_case(**fields))

    assert response.status_code == 409 and response.json()["code"] == code


def test_a_customer_stripe_does_not_have_is_a_404(specialist, stripe):
    case = make_case(stripe_customer_id="cus_Gone", stripe_link=StripeLink.VERIFIED)

    response = _snapshot(specialist, case)

    assert response.status_code == 404 and set(response.json()) == {"message", "code"}


def test_stripe_down_is_a_503(specialist, settings, db):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    case = make_case(stripe_customer_id="cus_Any", stripe_link=StripeLink.VERIFIED)

    response = _snapshot(specialist, case)

    assert response.status_code == 503 and response.json()["code"] == "stripe_unavailable"


def test_no_case_is_a_404(specialist, stripe):
    assert api_client(specialist).get("/api/v1/cases/999999/stripe/").status_code == 404

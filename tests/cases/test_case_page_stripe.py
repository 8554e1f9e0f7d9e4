"""The case page's Stripe panel, read through the gateway from the Stripe sandbox over HTTP:
what it shows, its Dashboard links, the customer link's states, the cache, and Stripe down."""

import pytest
from django.test import Client

from cases.models import CaseEvent, StripeLink
from tests.cases.factories import make_case

DASHBOARD = "https://dashboard.stripe.com/test"


@pytest.fixture
def stripe(running_stripe, settings):
    """The module's sandbox, with the settings pointed at it (the cache starts empty)."""
    running_stripe.point(settings)
    settings.STRIPE_DASHBOARD_URL = DASHBOARD
    return running_stripe


@pytest.fixture(scope="module")
def history(running_stripe):
    """One customer with some of everything, made once for the module."""
    return running_stripe.customer_with_history()


def _panel(user, case):
    client = Client()
    client.force_login(user)
    response = client.get(f"/cases/{case.pk}/stripe/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_the_panel_shows_the_customers_billing_with_dashboard_links(specialist,
                                                                   stripe, history):
    customer, invoice, refunded, disputed = history
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)

    html = _panel(specialist, case)

    assert f'href="{DASHBOARD}/customers/{customer.id}"' in html
    assert "Ava Okafor" in html and customer.email in html
    assert f'href="{DASHBOARD}/invoices/{invoice.id}"' in html
    assert "120.00 USD" in html  # the invoice's total
    assert f'href="{DASHBOARD}/payments/{refunded}"' in html
    assert f'href="{DASHBOARD}/payments/{disputed}"' in html
    assert "10.00 USD" in html  # what is left to refund of the 18.00 charge
    assert "Refund <span" in html and "Dispute <span" in html
    assert f'href="{DASHBOARD}/subscriptions/sub_' in html and "49.00 USD / month" in html
    assert "Credit notes" in html and "20.00 USD" in html
    assert "not yet confirmed" not in html.replace("\n", " ")
    assert "<html" not in html  # a partial, not a page


def test_an_unverified_link_warns_and_a_specialist_can_confirm_it(specialist, stripe,
                                                                  history):
    customer = history[0]
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.UNVERIFIED)

    html = _panel(specialist, case)

    assert "nobody has confirmed it yet" in html
    assert f'action="/cases/{case.pk}/stripe/customer/"' in html
    client = Client()
    client.force_login(specialist)
    client.post(f"/cases/{case.pk}/stripe/customer/", {"customer_id": customer.id})
    case.refresh_from_db()
    assert case.stripe_link == StripeLink.VERIFIED


def test_finance_sees_the_panel_without_the_confirm_button(finance, stripe, history):
    case = make_case(stripe_customer_id=history[0].id, stripe_link=StripeLink.UNVERIFIED)

    html = _panel(finance, case)

    assert "nobody has confirmed it yet" in html and history[0].id in html
    assert "<form" not in html


def test_several_matches_are_offered_as_a_choice(specialist, stripe):
    candidates = [{"id": "cus_One", "name": "Ava O", "email": "ava@example.com"},
                  {"id": "cus_Two", "name": "Ava Okafor", "email": "ava@example.com"}]
    case = make_case(stripe_link=StripeLink.AMBIGUOUS, stripe_candidates=candidates)

    html = _panel(specialist, case)

    assert 'name="customer_id" value="cus_One"' in html
    assert 'name="customer_id" value="cus_Two"' in html
    assert f'href="{DASHBOARD}/customers/cus_Two"' in html
    client = Client()
    client.force_login(specialist)
    refused = client.post(f"/cases/{case.pk}/stripe/customer/", {"customer_id": "cus_Other"},
                          follow=True)
    assert "Pick one of the Stripe customers matched for this case." in [
        str(message) for message in refused.context["messages"]]
    client.post(f"/cases/{case.pk}/stripe/customer/", {"customer_id": "cus_Two"})
    case.refresh_from_db()
    assert (case.stripe_customer_id, case.stripe_link) == ("cus_Two", StripeLink.VERIFIED)
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.LINK).exists()


def test_no_linked_customer_says_so(specialist, stripe):
    case = make_case(requester_email="nobody@example.com")

    assert "No Stripe customer is linked to this case" in _panel(specialist, case)


def test_the_snapshot_is_cached_briefly(specialist, stripe, history):
    customer = history[0]
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    path = f"/v1/customers/{customer.id}"
    before = len(stripe.requests_to(path))

    _panel(specialist, case)
    _panel(specialist, case)

    assert len(stripe.requests_to(path)) == before + 1


def test_stripe_refusing_connections_shows_a_message(specialist, stripe, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    case = make_case(stripe_customer_id="cus_Any", stripe_link=StripeLink.VERIFIED)

    html = _panel(specialist, case)

    assert "Stripe is not answering right now" in html
    assert f'hx-get="/cases/{case.pk}/stripe/"' in html  # the "Try again" button


def test_stripe_failing_shows_a_message_and_is_not_cached(specialist, stripe,
                                                          history):
    customer = history[0]
    case = make_case(stripe_customer_id=customer.id, stripe_link=StripeLink.VERIFIED)
    stripe.inject(f"/v1/customers/{customer.id}", 500)

    assert "Stripe is not answering right now" in _panel(specialist, case)
    assert customer.email in _panel(specialist, case)


def test_an_unknown_customer_shows_stripes_refusal(specialist, stripe):
    case = make_case(stripe_customer_id="cus_Gone", stripe_link=StripeLink.VERIFIED)

    html = _panel(specialist, case)

    assert "Stripe refused to show this customer: No such customer" in html


def test_a_charges_card_shows_its_last_four_digits_to_specialists_only(specialist, finance,
                                                                     stripe, history):
    case = make_case(stripe_customer_id=history[0].id, stripe_link=StripeLink.VERIFIED)

    assert "Card ending 4242" in _panel(specialist, case)
    assert "Card ending" not in _panel(finance, case)

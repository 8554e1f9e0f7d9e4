"""Matching a case's requester to Stripe customers by email, in a task, against the Stripe
sandbox: one match is linked unverified, several are kept as a choice, a named one wins."""

import uuid

import pytest

from billing_console.integrations.stripe.sandbox import build_server
from billing_console.integrations.stripe.sandbox.builders import client_for, create_customer
from cases.models import CaseEvent, StripeLink
from cases.tasks import link_stripe_customer
from tests.cases.factories import make_case
from tests.contract.stripe.conftest import start_in_thread, stop

API_KEY = "sk_test_sync_link"


@pytest.fixture(scope="module")
def stripe_url():
    server = build_server("127.0.0.1", 0)
    url = start_in_thread(server)
    yield url
    stop(server)


@pytest.fixture
def stripe_client(settings, stripe_url):
    settings.STRIPE_API_BASE = stripe_url
    settings.STRIPE_API_KEY = API_KEY
    return client_for(stripe_url, API_KEY)


def _email():
    return f"ap.{uuid.uuid4().hex[:8]}@example.com"


def test_one_customer_with_the_email_is_linked_unverified(db, stripe_client):
    email = _email()
    customer = create_customer(stripe_client, name="Ava Okafor", email=email)
    case = make_case(requester_email=email)

    link_stripe_customer.apply(args=[case.pk])
    link_stripe_customer.apply(args=[case.pk])  # a second run adds nothing

    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.UNVERIFIED, customer.id)
    assert case.events.filter(kind=CaseEvent.Kind.LINK).count() == 1


def test_several_customers_with_the_email_are_kept_as_candidates(db, stripe_client):
    email = _email()
    ids = {create_customer(stripe_client, name=name, email=email).id
           for name in ("Accounts Payable", "Ava Okafor")}
    case = make_case(requester_email=email)

    link_stripe_customer.apply(args=[case.pk])

    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.AMBIGUOUS, "")
    assert {c["id"] for c in case.stripe_candidates} == ids
    assert {c["name"] for c in case.stripe_candidates} == {"Accounts Payable", "Ava Okafor"}


def test_a_customer_named_on_the_ticket_is_not_looked_up(db, stripe_client):
    email = _email()
    create_customer(stripe_client, name="Someone else", email=email)
    case = make_case(requester_email=email, stripe_customer_id="cus_Named",
                     stripe_link=StripeLink.VERIFIED)

    link_stripe_customer.apply(args=[case.pk])

    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.VERIFIED, "cus_Named")

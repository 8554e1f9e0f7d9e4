"""Matching a case's requester to Stripe customers by email, in a task, against the Stripe
sandbox: one match is linked unverified, several are kept as a choice, a named one wins."""

import uuid

import pytest

from audit.models import AuditEvent, Source
from billing_console.integrations.stripe.sandbox import build_server
from billing_console.integrations.stripe.sandbox.builders import client_for, create_customer
from cases.models import CaseEvent, StripeLink
from cases.tasks import link_stripe_customer
from tests.cases.factories import make_case
from tests.cases.zendesk_sandbox import STRIPE_FIELD_ID, ticket_spec
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


# --- a customer named on the ticket is verified in Stripe, outside the sync ----------------


def _synced_case(zendesk_sandbox, **spec):
    from cases import sync
    from cases.models import Case

    ticket = zendesk_sandbox.add_tickets([ticket_spec(1, **spec)])[0]
    sync.sync_zendesk_once()
    return Case.objects.get(zendesk_ticket_id=ticket["id"])


def _named(customer_id):
    return {"custom_fields": [{"id": STRIPE_FIELD_ID, "value": customer_id}]}


def test_a_named_customer_stripe_does_not_have_is_never_verified(
        db, zendesk_sandbox, stripe_client):
    case = _synced_case(zendesk_sandbox, **_named("cus_DOESNOTEXIST"))
    assert (case.stripe_customer_id, case.stripe_link) == ("cus_DOESNOTEXIST", StripeLink.NAMED)

    link_stripe_customer.apply(args=[case.pk])

    case.refresh_from_db()
    assert case.stripe_link == StripeLink.NONE and case.stripe_customer_id == ""
    changed = AuditEvent.objects.filter(action="case.stripe_link_changed", case_id=case.pk)
    assert [(e.before, e.after) for e in changed.order_by("pk")] == [
        ({"customer": "cus_DOESNOTEXIST", "link": "named"}, {"customer": "", "link": "none"})]
    assert "which Stripe does not have" in case.events.filter(
        kind=CaseEvent.Kind.LINK).first().body


def test_a_named_customer_stripe_does_not_have_falls_back_to_the_email(
        db, zendesk_sandbox, stripe_client):
    email = "customer1@example.com"  # ticket_spec(1)'s requester
    by_email = create_customer(stripe_client, name="Customer 1", email=email)
    case = _synced_case(zendesk_sandbox, **_named("cus_DOESNOTEXIST"))

    link_stripe_customer.apply(args=[case.pk])

    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.UNVERIFIED, by_email.id)


def test_a_named_customer_stripe_has_is_verified_by_the_follow_up_task(
        db, zendesk_sandbox, stripe_client):
    customer = create_customer(stripe_client, name="Named", email=_email())
    case = _synced_case(zendesk_sandbox, **_named(customer.id))

    link_stripe_customer.apply(args=[case.pk])
    link_stripe_customer.apply(args=[case.pk])  # a second run changes nothing

    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.VERIFIED, customer.id)
    changed = AuditEvent.objects.filter(action="case.stripe_link_changed", case_id=case.pk)
    assert [(e.before, e.after, e.source) for e in changed] == [
        ({"customer": customer.id, "link": "named"},
         {"customer": customer.id, "link": "verified"}, Source.SYSTEM)]


def test_the_ticket_naming_another_customer_is_in_the_trail_and_checked_again(
        db, zendesk_sandbox, stripe_client):
    from cases import sync

    first = create_customer(stripe_client, name="First", email=_email())
    second = create_customer(stripe_client, name="Second", email=_email())
    case = _synced_case(zendesk_sandbox, **_named(first.id))
    link_stripe_customer.apply(args=[case.pk])
    zendesk_sandbox.server.store.update_ticket(
        case.zendesk_ticket_id, _named(second.id),
        zendesk_sandbox.server.store.agent_for("console@example.com")["id"])

    sync.sync_zendesk_once()
    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.NAMED, second.id)
    link_stripe_customer.apply(args=[case.pk])
    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.VERIFIED, second.id)

    trail = [(e.before, e.after) for e in AuditEvent.objects.filter(
        action="case.stripe_link_changed", case_id=case.pk).order_by("pk")]
    assert trail[1:] == [
        ({"customer": first.id, "link": "verified"}, {"customer": second.id, "link": "named"}),
        ({"customer": second.id, "link": "named"}, {"customer": second.id, "link": "verified"})]


def test_a_sync_that_changes_nothing_on_the_field_keeps_a_persons_choice(
        db, zendesk_sandbox, stripe_client, specialist):
    from cases import sync

    customer = create_customer(stripe_client, name="Named", email=_email())
    case = _synced_case(zendesk_sandbox, **_named(customer.id))
    link_stripe_customer.apply(args=[case.pk])
    zendesk_sandbox.server.store.update_ticket(
        case.zendesk_ticket_id, {"status": "pending"},
        zendesk_sandbox.server.store.agent_for("console@example.com")["id"])

    sync.sync_zendesk_once()

    case.refresh_from_db()
    assert (case.stripe_link, case.stripe_customer_id) == (StripeLink.VERIFIED, customer.id)


def test_email_matches_are_in_the_trail_with_before_and_after(db, stripe_client):
    email = _email()
    customer = create_customer(stripe_client, name="Ava Okafor", email=email)
    case = make_case(requester_email=email)

    link_stripe_customer.apply(args=[case.pk])

    event = AuditEvent.objects.get(action="case.stripe_link_changed", case_id=case.pk)
    assert (event.before, event.after) == ({"customer": "", "link": "none"},
                                           {"customer": customer.id, "link": "unverified"})

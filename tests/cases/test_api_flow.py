"""One case from intake to resolution through the API only, with a real Celery worker, the
Zendesk sandbox and the Stripe sandbox over HTTP: the ticket comes in through the sync; a
specialist assigns, categorizes, notes (to Zendesk) and asks for a refund above the
policy's limit; finance approves; the refund reaches Stripe; the specialist resolves with a
public reply. The Zendesk ticket then shows the note and the reply."""

import json
import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent, Source
from billing_console.celery import app as celery_app
from billing_console.integrations.stripe.sandbox.builders import charge, create_customer
from cases import sync
from cases.models import (
    Case,
    Category,
    ReplyTemplate,
    ResolutionCode,
    State,
    StripeLink,
    WriteBack,
)
from money_actions.models import MoneyAction
from money_actions.models import State as ActionState
from tests.cases.zendesk_sandbox import ESCALATION_TAG, STRIPE_FIELD_ID
from tests.contract.stripe.conftest import API_KEY

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

NOTE = "Customer was charged twice for March; refunding the second charge."
REPLY = "Hi {requester_name}, we refunded the duplicate charge on ticket #{ticket_id}."


def _client(user):
    """A program's client: a DRF token, as `manage.py drf_create_token` gives one."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _post(client, path, body, expected=200):
    response = client.post(f"/api/v1/{path}", json.dumps(body), content_type="application/json")
    assert response.status_code == expected, response.json()
    return response.json()


def _wait_for(what, check, seconds=30):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def _comments(zendesk_sandbox, ticket_id):
    status, body = zendesk_sandbox.call("GET", f"/api/v2/tickets/{ticket_id}/comments.json")
    assert status == 200
    return [(comment["public"], comment["body"]) for comment in body["comments"]]


def test_one_case_from_intake_to_resolution_through_the_api_only(
        zendesk_sandbox, sandbox, settings, refund_policy, specialist, finance):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: set REDIS_URL to run a real worker")
    # The cases tests' Zendesk sandbox leaves Stripe unreachable; this test reaches it.
    settings.STRIPE_API_BASE, settings.STRIPE_API_KEY = sandbox.url, API_KEY
    customer = create_customer(sandbox.client, name="Ava Okafor", email="ava@example.com",
                               payment_method="pm_card_visa").id
    charge_id = charge(sandbox.client, customer=customer, amount=80_000)
    charge(sandbox.client, customer=customer, amount=80_000)
    ticket = zendesk_sandbox.create_ticket(
        subject="Charged twice for March", tags=[ESCALATION_TAG],
        custom_fields=[{"id": STRIPE_FIELD_ID, "value": customer}])
    ReplyTemplate.objects.create(name="Duplicate refunded", body=REPLY)
    specialist_api, finance_api = _client(specialist), _client(finance)
    celery_app.control.purge()

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sync.sync_zendesk_once()
        case = Case.objects.get(zendesk_ticket_id=ticket["id"])
        _wait_for("Stripe to confirm the customer the ticket names", lambda: Case.objects.get(
            pk=case.pk).stripe_link == StripeLink.VERIFIED)

        assigned = _post(specialist_api, f"cases/{case.pk}/assign/", {"assignee": "specialist"})
        assert (assigned["assignee"], assigned["state"]) == ("specialist", State.TRIAGED)
        _post(specialist_api, f"cases/{case.pk}/category/",
              {"category": Category.DUPLICATE_CHARGE})
        _post(specialist_api, f"cases/{case.pk}/notes/", {"body": NOTE, "post_to_zendesk": True},
              expected=201)
        refund = _post(specialist_api, "refunds/", {
            "case_id": case.pk, "charge_id": charge_id, "amount": 60_000,
            "reason_code": "duplicate_charge", "note": NOTE}, expected=201)
        assert refund["state"] == ActionState.PENDING_APPROVAL  # above the 500.00 limit
        assert Case.objects.get(pk=case.pk).state == State.WAITING_FINANCE

        approved = _post(finance_api, f"money-actions/{refund['id']}/approve/",
                         {"note": "Duplicate confirmed in Stripe.", "amount": 60_000})
        assert approved["approved_by"] == "finance"
        _wait_for("the refund to reach Stripe", lambda: MoneyAction.objects.get(
            pk=refund["id"]).state == ActionState.SUCCEEDED)

        resolved = _post(specialist_api, f"cases/{case.pk}/resolve/", {
            "resolution_code": ResolutionCode.REFUNDED,
            "summary": "Refunded the duplicate March charge.",
            "reply_template": "Duplicate refunded"})
        assert resolved["state"] == State.RESOLVED
        _wait_for("Zendesk to take every write-back", lambda: not WriteBack.objects.exclude(
            status=WriteBack.Status.SENT).exists())

    comments = _comments(zendesk_sandbox, ticket["id"])
    assert (False, NOTE) in comments
    assert (True, f"Hi Ava Okafor, we refunded the duplicate charge on ticket "
                  f"#{ticket['id']}.") in comments
    assert any(not public and body.startswith("Billing Console: this case is resolved (refunded).")
               for public, body in comments)
    status, body = zendesk_sandbox.call("GET", f"/api/v2/tickets/{ticket['id']}.json")
    assert body["ticket"]["status"] == "solved"
    [stripe_refund] = sandbox.client.v1.refunds.list(params={"charge": charge_id}).data
    assert (stripe_refund.amount, stripe_refund.status) == (60_000, "succeeded")
    by_people = AuditEvent.objects.filter(actor__isnull=False)
    assert set(by_people.values_list("action", flat=True)) >= {
        "case.assigned", "case.category_changed", "case.note_added", "refund.requested",
        "refund.approved", "case.resolved"}
    assert set(by_people.values_list("source", flat=True)) == {Source.API}

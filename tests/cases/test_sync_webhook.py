"""A Zendesk webhook, through the real URL, refreshes its ticket's case without beat."""

import json
from datetime import UTC, datetime

import pytest

from billing_console.celery import app as celery_app
from billing_console.integrations.zendesk.sandbox.notifier import sign
from cases import sync
from cases.models import Case, CaseEvent, StripeLink
from tests.cases.zendesk_sandbox import STRIPE_FIELD_ID, ticket_spec

SECRET = "whsec_sync_test"
HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def eager_webhooks(settings):
    settings.ZENDESK_WEBHOOK_SECRET = SECRET
    # The queued processing task runs in this process as soon as the row is committed.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _deliver(client, ticket_id, invocation, event="ticket_updated"):
    body = json.dumps({"event": event, "id": ticket_id}).encode()
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return client.post("/webhooks/zendesk/", data=body, content_type="application/json",
                       HTTP_X_ZENDESK_WEBHOOK_SIGNATURE=sign(SECRET, timestamp, body),
                       HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP=timestamp,
                       HTTP_X_ZENDESK_WEBHOOK_INVOCATION_ID=invocation)


def test_a_webhook_updates_its_case_and_stores_its_comments_without_beat(
        db, client, zendesk_sandbox, django_capture_on_commit_callbacks):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(
        1, custom_fields=[{"id": STRIPE_FIELD_ID, "value": "cus_Webhook1"}])])
    sync.sync_zendesk_once()
    zendesk_sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json", {"ticket": {
        "subject": HOSTILE, "comment": {"body": HOSTILE, "public": False}}})

    with django_capture_on_commit_callbacks(execute=True):
        assert _deliver(client, ticket["id"], "inv-1").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(client, ticket["id"], "inv-2")  # a later change: nothing new to add

    case = Case.objects.get()
    assert case.subject == HOSTILE  # stored raw; pages escape it
    assert case.stripe_link == StripeLink.NAMED  # verified once Stripe has it
    comments = list(case.events.filter(kind=CaseEvent.Kind.COMMENT)
                    .order_by("zendesk_comment_id").values_list("body", "public"))
    assert comments == [("Message 1 from the customer.", True), (HOSTILE, False)]


def test_a_webhook_for_a_new_escalated_ticket_opens_its_case(
        db, client, zendesk_sandbox, django_capture_on_commit_callbacks):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(
        2, custom_fields=[{"id": STRIPE_FIELD_ID, "value": "cus_Webhook2"}])])

    with django_capture_on_commit_callbacks(execute=True):
        _deliver(client, ticket["id"], "inv-3", event="ticket_created")

    case = Case.objects.get(zendesk_ticket_id=ticket["id"])
    assert case.requester_email == "customer2@example.com"
    assert case.events.filter(kind=CaseEvent.Kind.COMMENT).count() == 1


def test_a_webhook_for_a_deleted_ticket_closes_its_case(
        db, client, zendesk_sandbox, django_capture_on_commit_callbacks):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(
        3, custom_fields=[{"id": STRIPE_FIELD_ID, "value": "cus_Webhook3"}])])
    sync.sync_zendesk_once()
    zendesk_sandbox.call("DELETE", f"/api/v2/tickets/{ticket['id']}.json")

    with django_capture_on_commit_callbacks(execute=True):
        _deliver(client, ticket["id"], "inv-4")

    assert Case.objects.get().state == "closed"

"""The webhook receiver accepts exactly what the sandbox's trigger sends: signed the same
way, checked for freshness, and stored once per invocation."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory

from billing_console.integrations.models import InboundEvent
from billing_console.integrations.zendesk import webhooks
from billing_console.integrations.zendesk.sandbox import notifier

SECRET = "whsec-zendesk-test"


@pytest.fixture(autouse=True)
def signing_secret(settings):
    settings.ZENDESK_WEBHOOK_SECRET = SECRET


def delivery(*, invocation_id="inv-1", signed_at=None, secret=SECRET, tamper=False):
    """A request shaped like the sandbox's delivery of a ticket_created event."""
    ticket = {"id": 7, "external_id": None, "subject": "Charged twice", "description": "x",
              "status": "new", "priority": None, "type": None, "requester_id": 1,
              "assignee_id": None, "group_id": None, "organization_id": None, "tags": [],
              "via": {"channel": "api"}, "brand_id": 1, "ticket_form_id": 1,
              "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    body = json.dumps(notifier.ticket_payload("ticket_created", ticket, {}, [])).encode()
    timestamp = (signed_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = notifier.sign(secret, timestamp, body)
    return RequestFactory().post(
        "/webhooks/zendesk/", data=body + (b" " if tamper else b""),
        content_type="application/json",
        headers={"X-Zendesk-Webhook-Signature": signature,
                 "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
                 "X-Zendesk-Webhook-Invocation-Id": invocation_id},
    )


def test_a_validly_signed_delivery_is_stored_once(db):
    response = webhooks.receive(delivery())

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.source, event.event_id, event.event_type) == ("zendesk", "inv-1",
                                                                "ticket_created")
    assert event.payload["id"] == 7


def test_a_repeated_delivery_changes_nothing(db):
    webhooks.receive(delivery())
    stored = InboundEvent.objects.values().get()

    response = webhooks.receive(delivery())

    assert response.status_code == 200
    assert json.loads(response.content)["duplicate"] is True
    assert list(InboundEvent.objects.values()) == [stored]


@pytest.mark.parametrize("request_", [
    pytest.param(lambda: delivery(secret="someone-else"), id="wrong secret"),
    pytest.param(lambda: delivery(tamper=True), id="body changed after signing"),
])
def test_a_bad_signature_is_refused_with_400(db, request_):
    response = webhooks.receive(request_())

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_a_stale_timestamp_is_refused(db):
    six_minutes_ago = datetime.now(UTC) - timedelta(minutes=6)

    response = webhooks.receive(delivery(signed_at=six_minutes_ago))

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_a_timestamp_from_the_future_is_refused(db):
    six_minutes_ahead = datetime.now(UTC) + timedelta(minutes=6)

    response = webhooks.receive(delivery(signed_at=six_minutes_ahead))

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("minutes", [-4, 4])
def test_a_timestamp_within_five_minutes_either_way_is_accepted(db, minutes):
    signed_at = datetime.now(UTC) + timedelta(minutes=minutes)

    assert webhooks.receive(delivery(signed_at=signed_at)).status_code == 200


def test_without_a_signing_secret_nothing_is_accepted(db, settings):
    settings.ZENDESK_WEBHOOK_SECRET = ""

    assert webhooks.receive(delivery()).status_code == 503

"""Webhook intake end to end, through the real URLs: verified, stored once, dispatched to
the registered handlers once, failures kept for a re-run (retries: test_inbox_retries)."""

import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from billing_console.celery import app as celery_app
from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent
from billing_console.integrations.stripe.sandbox.delivery import signature_header
from billing_console.integrations.zendesk.sandbox.notifier import sign

SECRET = "whsec_inbox_test"


@pytest.fixture(autouse=True)
def configured(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.ZENDESK_WEBHOOK_SECRET = SECRET
    # The queued processing task runs in this process as soon as the row is committed.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def handled(monkeypatch):
    """Register recording handlers for this test only."""
    calls = []
    monkeypatch.setattr(inbox, "_handlers", type(inbox._handlers)(list))
    inbox.handles("stripe", "refund.updated")(lambda event: calls.append(event.event_id))
    inbox.handles("zendesk", "ticket_updated")(lambda event: calls.append(event.event_id))
    return calls


def _stripe_delivery(client, event_id="evt_1", secret=SECRET):
    body = json.dumps({"id": event_id, "object": "event", "type": "refund.updated",
                       "data": {"object": {"id": "re_1", "object": "refund"}}})
    return client.post("/webhooks/stripe/", data=body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signature_header(body, secret))


def _zendesk_delivery(client, invocation="inv-1", secret=SECRET):
    body = json.dumps({"event": "ticket_updated", "id": 7}).encode()
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return client.post("/webhooks/zendesk/", data=body, content_type="application/json",
                       HTTP_X_ZENDESK_WEBHOOK_SIGNATURE=sign(secret, timestamp, body),
                       HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP=timestamp,
                       HTTP_X_ZENDESK_WEBHOOK_INVOCATION_ID=invocation)


@pytest.mark.parametrize("deliver", [_stripe_delivery, _zendesk_delivery])
def test_a_signed_delivery_is_processed_once_and_a_replay_changes_nothing(
        deliver, client, handled, django_capture_on_commit_callbacks, db):
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client).status_code == 200
    stored = list(InboundEvent.objects.values())
    with django_capture_on_commit_callbacks(execute=True):
        replay = deliver(client)
    assert replay.json() == {"received": True, "duplicate": True}
    assert list(InboundEvent.objects.values()) == stored
    assert len(handled) == 1
    assert stored[0]["status"] == InboundEvent.Status.PROCESSED


@pytest.mark.parametrize("deliver", [_stripe_delivery, _zendesk_delivery])
def test_a_bad_signature_gets_400_and_nothing_is_stored(deliver, client, handled, db):
    response = deliver(client, secret="whsec_forged")
    assert response.status_code == 400
    assert set(response.json()) == {"message", "code"}
    assert not InboundEvent.objects.exists()
    assert handled == []


def test_a_failing_handler_is_recorded_and_can_be_replayed(
        client, monkeypatch, django_capture_on_commit_callbacks, db):
    monkeypatch.setattr(inbox, "_handlers", type(inbox._handlers)(list))
    outcomes = iter([RuntimeError("Stripe was unreachable"), None])

    def flaky(event):
        outcome = next(outcomes)
        if outcome:
            raise outcome

    inbox.handles("stripe", "refund.updated")(flaky)
    with django_capture_on_commit_callbacks(execute=True):
        _stripe_delivery(client)
    event = InboundEvent.objects.get()
    assert (event.status, event.last_error) == ("failed", "RuntimeError: Stripe was unreachable")

    call_command("stripe_replay_events")
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("processed", 2, "")


def test_a_pending_event_whose_message_was_lost_is_queued_again(db, handled, monkeypatch):
    event, _ = inbox.accept(source="stripe", event_id="evt_lost", event_type="refund.updated",
                            payload={})
    InboundEvent.objects.filter(pk=event.pk).update(received_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert inbox.requeue_due() == 1
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.PROCESSED and handled == ["evt_lost"]

"""Zendesk as it really behaves: a ticket whose text the database refuses (a NUL in its
subject) is cleaned or set aside, and never stops the export, its cursor or a webhook."""

import json
from datetime import UTC, datetime

import pytest
from django.db import DataError, connection

from audit.models import AuditEvent
from billing_console import text
from billing_console.celery import app as celery_app
from billing_console.integrations.models import InboundEvent, SetAsideRecord
from billing_console.integrations.zendesk.sandbox.notifier import sign
from cases import sync
from cases.models import Case, SyncState
from tests.cases.zendesk_sandbox import ESCALATION_TAG, ticket_spec
from tests.conftest import with_second_factor

NUL_SUBJECT = "Null byte \u0000 in subject"
CLEANED_SUBJECT = "Null byte \ufffd in subject"
SECRET = "whsec_unstorable_test"

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite stores NUL, so only PostgreSQL refuses the ticket")


@pytest.fixture
def eager_tasks(settings):
    """Queued tasks run at once; the Stripe lookups a new case queues fail at once (the
    test's Stripe is unreachable) rather than after the client's retries."""
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def without_cleaning(monkeypatch):
    """The sync as it was: Zendesk's text stored as received."""
    monkeypatch.setattr(text, "storable", lambda value, where="": (value, []))
    return monkeypatch


def _escalate(sandbox, ticket):
    status, _ = sandbox.call("PUT", f"/api/v2/tickets/{ticket['id']}.json",
                             {"ticket": {"additional_tags": [ESCALATION_TAG]}})
    assert status == 200


def _cleaned_events(ticket_id):
    return AuditEvent.objects.filter(action="integrations.text_cleaned",
                                     zendesk_ticket_id=ticket_id)


@needs_postgres
@pytest.mark.postgres
def test_a_nul_subject_becomes_a_cleaned_case_and_a_later_escalation_arrives_by_export_alone(
        db, zendesk_sandbox):
    poisoned, normal = zendesk_sandbox.add_tickets([
        ticket_spec(1, subject=NUL_SUBJECT), ticket_spec(2, escalated=False)])

    first = sync.sync_zendesk_once()
    _escalate(zendesk_sandbox, normal)
    second = sync.sync_zendesk_once()
    sync.sync_zendesk_once()  # nothing changed: nothing more is reported

    assert (first.created, first.set_aside, second.created) == (1, 0, 1)
    assert Case.objects.get(zendesk_ticket_id=poisoned["id"]).subject == CLEANED_SUBJECT
    assert Case.objects.filter(zendesk_ticket_id=normal["id"]).exists()
    [audited] = _cleaned_events(poisoned["id"])
    assert "replaced by U+FFFD in subject" in audited.reason
    assert SyncState.objects.get().last_error == ""


@needs_postgres
@pytest.mark.postgres
def test_a_ticket_postgresql_refuses_is_set_aside_listed_and_retried_by_an_admin(
        db, client, zendesk_sandbox, admin_user, without_cleaning, eager_tasks,
        django_capture_on_commit_callbacks):
    poisoned, normal = zendesk_sandbox.add_tickets([
        ticket_spec(1, subject=NUL_SUBJECT), ticket_spec(2)])

    run = sync.sync_zendesk_once()

    assert (run.created, run.set_aside, run.end_of_stream) == (1, 1, True)
    assert Case.objects.filter(zendesk_ticket_id=normal["id"]).exists()
    [aside] = SetAsideRecord.objects.all()
    assert (aside.kind, aside.external_id) == ("ticket", str(poisoned["id"]))
    assert "NUL" in aside.reason
    assert SyncState.objects.get().cursor  # the cursor moved past the page
    client.force_login(admin_user)
    with_second_factor(client, admin_user)
    page = client.get("/manage/integrations/").content.decode()
    assert f"#{poisoned['id']}" in page and 'name="retry_ticket"' in page

    without_cleaning.undo()  # the fix is deployed; the admin retries the ticket
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/manage/integrations/", {"retry_ticket": poisoned["id"]},
                               follow=True)

    assert "queued to be fetched again" in response.content.decode()
    assert Case.objects.get(zendesk_ticket_id=poisoned["id"]).subject == CLEANED_SUBJECT
    assert not SetAsideRecord.objects.exists()
    [retried] = AuditEvent.objects.filter(action="integrations.set_aside_retried")
    assert (retried.actor_id, retried.zendesk_ticket_id) == (admin_user.pk, poisoned["id"])


@needs_postgres
@pytest.mark.postgres
def test_a_webhook_for_a_nul_ticket_is_stored_cleaned_and_makes_its_case(
        db, client, settings, zendesk_sandbox, eager_tasks,
        django_capture_on_commit_callbacks):
    settings.ZENDESK_WEBHOOK_SECRET = SECRET
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1, subject=NUL_SUBJECT)])
    body = json.dumps({"event": "ticket_created", "id": ticket["id"],
                       "subject": NUL_SUBJECT}).encode()
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/webhooks/zendesk/", data=body, content_type="application/json",
            HTTP_X_ZENDESK_WEBHOOK_SIGNATURE=sign(SECRET, timestamp, body),
            HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP=timestamp,
            HTTP_X_ZENDESK_WEBHOOK_INVOCATION_ID="inv-nul-1")

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.status, event.payload["subject"]) == ("processed", CLEANED_SUBJECT)
    assert AuditEvent.objects.filter(action="integrations.text_cleaned",
                                     object_type="inbound_event").count() == 1
    assert Case.objects.get().subject == CLEANED_SUBJECT


@needs_postgres
@pytest.mark.postgres
def test_a_webhook_refresh_of_a_ticket_the_database_refuses_sets_it_aside_and_is_done(
        db, zendesk_sandbox, without_cleaning):
    [ticket] = zendesk_sandbox.add_tickets([ticket_spec(1, subject=NUL_SUBJECT)])

    assert sync.refresh_ticket(ticket["id"]) is None

    assert SetAsideRecord.objects.get().external_id == str(ticket["id"])


def _refusing(ticket_id, monkeypatch):
    """The database refuses this one ticket (any database: the refusal is simulated)."""
    real = sync._case_values

    def case_values(ticket, *args):
        if ticket.id == ticket_id:
            raise DataError("value out of range")
        return real(ticket, *args)

    monkeypatch.setattr(sync, "_case_values", case_values)


def test_a_refused_ticket_is_set_aside_and_the_rest_of_its_page_is_stored(
        db, zendesk_sandbox, monkeypatch):
    tickets = zendesk_sandbox.add_tickets([ticket_spec(n) for n in range(1, 4)])
    _refusing(tickets[1]["id"], monkeypatch)

    run = sync.sync_zendesk_once()

    assert (run.created, run.set_aside) == (2, 1)
    assert SetAsideRecord.objects.get().reason == "DataError: value out of range"
    monkeypatch.undo()
    zendesk_sandbox.call("PUT", f"/api/v2/tickets/{tickets[1]['id']}.json",
                         {"ticket": {"subject": "Changed"}})
    assert sync.sync_zendesk_once().created == 1  # stored by a later page
    assert not SetAsideRecord.objects.exists()


def test_when_every_ticket_of_a_page_is_refused_the_run_fails_and_the_cursor_stays(
        db, zendesk_sandbox, monkeypatch):
    zendesk_sandbox.add_tickets([ticket_spec(1), ticket_spec(2)])
    monkeypatch.setattr(sync, "_case_values", lambda *args: (_ for _ in ()).throw(
        DataError("relation changed")))

    with pytest.raises(DataError):
        sync.sync_zendesk_once()

    assert (SyncState.objects.get().cursor, SetAsideRecord.objects.count()) == ("", 0)


def test_only_admins_retry_a_ticket_set_aside(db, client, specialist):
    SetAsideRecord.objects.create(source="zendesk", kind="ticket", external_id="42",
                                  reason="DataError", last_set_aside_at=datetime.now(UTC))
    client.force_login(specialist)

    assert client.post("/manage/integrations/", {"retry_ticket": "42"}).status_code == 403
    assert not AuditEvent.objects.filter(action="integrations.set_aside_retried").exists()


def test_retrying_a_ticket_no_longer_set_aside_says_so(db, client, admin_user):
    client.force_login(admin_user)
    with_second_factor(client, admin_user)

    response = client.post("/manage/integrations/", {"retry_ticket": "42"}, follow=True)

    assert "That ticket is no longer set aside." in response.content.decode()

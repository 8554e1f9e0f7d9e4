"""`/manage/integrations/`, the admins' integrations page: webhook events that gave up
after their retries, with a "retry now" that is audited, and their count in the admins'
navigation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(inbox, "_queue", lambda pk, countdown=None: calls.append(pk))
    return calls


def gave_up(event_id="evt_gave_up", error="RuntimeError: <b>Stripe</b> was unreachable",
            **fields):
    return InboundEvent.objects.create(
        source="stripe", event_id=event_id, event_type="refund.updated", payload={},
        status=InboundEvent.Status.GAVE_UP, attempts=inbox.MAX_ATTEMPTS, last_error=error,
        **fields)


def test_admins_see_the_events_that_gave_up_with_their_last_error(admin_user):
    event = gave_up()
    InboundEvent.objects.create(source="zendesk", event_id="inv-ok",
                                event_type="ticket_updated", payload={},
                                status=InboundEvent.Status.FAILED, attempts=2,
                                next_attempt_at=timezone.now() + timedelta(minutes=2))

    page = signed_in(admin_user).get("/manage/integrations/").content.decode()

    assert "Changes from Zendesk and Stripe not taken in (1)" in page
    assert "evt_gave_up" in page and "refund.updated" in page
    assert "&lt;b&gt;Stripe&lt;/b&gt; was unreachable" in page  # escaped
    assert f'name="retry_event" value="{event.pk}"' in page
    assert "inv-ok" not in page  # still being retried by itself


def test_the_page_says_so_when_no_event_gave_up(admin_user):
    page = signed_in(admin_user).get("/manage/integrations/").content.decode()
    assert "every change Zendesk and Stripe sent was taken in" in page


def test_retry_now_queues_the_event_again_and_audits_who_asked(
        admin_user, queued, django_capture_on_commit_callbacks):
    event = gave_up()

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(admin_user).post("/manage/integrations/", {"retry_event": event.pk},
                                              follow=True)

    assert "Stripe event evt_gave_up queued to run again." in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.next_attempt_at) == (InboundEvent.Status.PENDING, None)
    assert queued == [event.pk]
    audit = AuditEvent.objects.get(action="integrations.inbound_event_retried")
    assert (audit.actor, audit.object_type, audit.object_id) == (
        admin_user, "inbound_event", str(event.pk))
    assert audit.before["attempts"] == inbox.MAX_ATTEMPTS
    assert audit.before["event_id"] == "evt_gave_up"
    assert audit.after == {"status": "pending"}


@pytest.mark.parametrize("value", ["12345", "abc", ""])
def test_retrying_an_event_that_is_not_waiting_says_so(admin_user, queued, value):
    response = signed_in(admin_user).post("/manage/integrations/", {"retry_event": value},
                                          follow=True)
    assert response.status_code == 200
    assert "no longer waiting for a retry" in response.content.decode()
    assert queued == []
    assert not AuditEvent.objects.filter(action="integrations.inbound_event_retried").exists()


def test_only_admins_retry_events(specialist, finance, queued):
    event = gave_up()
    for user in (specialist, finance):
        response = signed_in(user).post("/manage/integrations/", {"retry_event": event.pk})
        assert response.status_code == 403
    assert InboundEvent.objects.get(pk=event.pk).status == InboundEvent.Status.GAVE_UP
    assert queued == []


def test_retry_now_answers_only_to_post(admin_user, queued):
    event = gave_up()
    signed_in(admin_user).get("/manage/integrations/", {"retry_event": event.pk})
    assert InboundEvent.objects.get(pk=event.pk).status == InboundEvent.Status.GAVE_UP


def test_the_admins_navigation_counts_the_events_that_gave_up(admin_user):
    gave_up("evt_1")
    gave_up("evt_2")

    page = signed_in(admin_user).get("/manage/integrations/").content.decode()

    assert 'Admin <span class="count" aria-label="2 open">2</span>' in page

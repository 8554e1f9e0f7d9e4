"""The integrations' health through the API, for admins as on `/manage/integrations/`: the
sync's state, the records set aside and the webhook events that gave up, and a retry of
one, audited with the API as its source. Like every admin page, it needs a second factor: a
session that gave one is answered, an API token never."""

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent, Source
from billing_console.integrations import inbox, set_aside
from billing_console.integrations.models import InboundEvent, SetAsideRecord
from cases import services as case_services
from cases.sync import TICKET, ZENDESK, sync_state
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

HEALTH = "/api/v1/integrations/"
SET_ASIDE = "/api/v1/integrations/set-aside/"
EVENTS = "/api/v1/integrations/webhook-events/"


@pytest.fixture
def queued(monkeypatch):
    """The tasks the retries queue once their transaction commits: (kind, id)."""
    calls = []
    monkeypatch.setattr(inbox, "_queue",
                        lambda pk, countdown=None: calls.append(("event", pk)))
    monkeypatch.setattr(case_services, "_queue_refresh",
                        lambda ticket_id: calls.append(("ticket", ticket_id)))
    return calls


@pytest.fixture
def queue_down(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(inbox, "_queue", unreachable)
    monkeypatch.setattr(case_services, "_queue_refresh", unreachable)


def gave_up(event_id="evt_gave_up"):
    return InboundEvent.objects.create(
        source="stripe", event_id=event_id, event_type="refund.updated",
        payload={"card": "4242"}, status=InboundEvent.Status.GAVE_UP,
        attempts=inbox.MAX_ATTEMPTS, last_error="RuntimeError: Stripe was unreachable")


def held_ticket(ticket_id=4242):
    return set_aside.set_aside(source=ZENDESK, kind=TICKET, external_id=ticket_id,
                               error=ValueError("A string literal cannot contain NUL"))


def post(client, path):
    return client.post(path, content_type="application/json")


def test_an_admin_reads_the_sync_the_set_aside_and_what_gave_up(admin_user):
    state = sync_state()
    state.last_run_at = state.last_error_at = timezone.now()
    state.last_error = "Zendesk answered 503"
    state.save()
    held = held_ticket()
    event = gave_up()
    InboundEvent.objects.create(source="zendesk", event_id="still-trying",
                                event_type="ticket_updated", payload={},
                                status=InboundEvent.Status.FAILED, attempts=2)
    client = signed_in(admin_user)

    health = client.get(HEALTH).json()
    records = client.get(SET_ASIDE).json()
    events = client.get(EVENTS).json()

    assert (health["set_aside"], health["gave_up"]) == (1, 1)
    assert health["zendesk_sync"]["failing"] is True
    assert health["zendesk_sync"]["last_error"] == "Zendesk answered 503"
    assert health["zendesk_sync"]["lag_seconds"] is None
    assert [(r["id"], r["external_id"], r["times"]) for r in records["results"]] == [
        (held.pk, "4242", 1)]
    assert [(e["id"], e["event_id"], e["status"]) for e in events["results"]] == [
        (event.pk, "evt_gave_up", "gave_up")]
    assert "payload" not in events["results"][0]
    assert events["next"] is None


def test_an_admin_retries_an_event_that_gave_up_and_the_trail_says_the_api(
        admin_user, queued, django_capture_on_commit_callbacks):
    event = gave_up()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(signed_in(admin_user), f"{EVENTS}{event.pk}/retry/")

    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending"
    assert queued == [("event", event.pk)]
    audit = AuditEvent.objects.get(action="integrations.inbound_event_retried")
    assert (audit.source, audit.actor, audit.object_id) == (Source.API, admin_user,
                                                            str(event.pk))


def test_an_event_not_waiting_for_a_retry_is_refused(admin_user, queued):
    event = gave_up()
    InboundEvent.objects.filter(pk=event.pk).update(status=InboundEvent.Status.PROCESSED)
    client = signed_in(admin_user)

    refused = post(client, f"{EVENTS}{event.pk}/retry/")
    missing = post(client, f"{EVENTS}987654/retry/")

    assert (refused.status_code, refused.json()["code"]) == (409, "event_not_given_up")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert queued == []
    assert not AuditEvent.objects.filter(action="integrations.inbound_event_retried").exists()


# Committed for real: the queue is called as the retry's transaction commits, in the request.
@pytest.mark.django_db(transaction=True)
def test_with_the_queue_down_a_retried_event_waits_for_the_sweeper(admin_user, queue_down):
    event = gave_up()

    response = post(signed_in(admin_user), f"{EVENTS}{event.pk}/retry/")

    assert response.status_code == 202
    assert InboundEvent.objects.get(pk=event.pk).status == InboundEvent.Status.PENDING


def test_an_admin_retries_a_ticket_set_aside(admin_user, queued,
                                             django_capture_on_commit_callbacks):
    held_ticket(4242)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(signed_in(admin_user), f"{SET_ASIDE}tickets/4242/retry/")

    assert response.status_code == 202, response.json()
    assert response.json()["external_id"] == "4242"
    assert queued == [("ticket", 4242)]
    audit = AuditEvent.objects.get(action="integrations.set_aside_retried")
    assert (audit.source, audit.actor, audit.zendesk_ticket_id) == (Source.API, admin_user,
                                                                    4242)


@pytest.mark.django_db(transaction=True)
def test_a_ticket_not_set_aside_is_not_found_and_a_down_queue_is_said(admin_user, queue_down):
    held_ticket(4242)
    client = signed_in(admin_user)

    missing = post(client, f"{SET_ASIDE}tickets/77/retry/")
    down = post(client, f"{SET_ASIDE}tickets/4242/retry/")

    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (down.status_code, down.json()["code"]) == (503, "queue_unavailable")
    assert SetAsideRecord.objects.filter(external_id="4242").exists()


PATHS = [("get", HEALTH), ("get", SET_ASIDE), ("get", EVENTS),
         ("post", f"{EVENTS}1/retry/"), ("post", f"{SET_ASIDE}tickets/4242/retry/")]


@pytest.mark.parametrize("role", ["specialist", "tier2", "finance", "outsider"])
def test_no_other_role_reads_or_retries(actors, role, queued):
    gave_up()
    held_ticket(4242)
    client = signed_in(actors[role])
    for method, path in PATHS:
        assert getattr(client, method)(path).status_code == 403, path
    assert queued == []


def test_an_api_token_cannot_carry_the_second_factor_admins_need(admin_user, queued):
    event = gave_up()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}")
    for method, path in [*PATHS, ("post", f"{EVENTS}{event.pk}/retry/")]:
        response = getattr(client, method)(path)
        assert response.status_code == 403, path
        assert "second factor" in response.json()["message"]
    assert queued == []
    assert InboundEvent.objects.get(pk=event.pk).status == InboundEvent.Status.GAVE_UP

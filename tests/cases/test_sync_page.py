"""`/manage/integrations/`: admins see the sync's health and can start a run."""

import re
from datetime import timedelta
from unittest import mock

from django.utils import timezone

from cases import tasks
from cases.models import SyncState
from tests.conftest import with_second_factor


def test_admins_see_the_last_run_the_lag_and_the_last_error(client, admin_user):
    now = timezone.now()
    SyncState.objects.filter(pk=1).update(
        last_run_at=now, last_success_at=now - timedelta(minutes=3),
        newest_ticket_updated_at=now - timedelta(minutes=4),
        last_error="ZendeskTransientError: <b>rate limit</b>", last_error_at=now)
    client.force_login(admin_user)
    with_second_factor(client, admin_user)

    page = client.get("/manage/integrations/").content.decode()

    assert "The last run failed" in page
    assert "&lt;b&gt;rate limit&lt;/b&gt;" in page  # Zendesk's words, escaped
    assert "4\xa0minutes since the newest ticket change" in page


def test_sync_now_queues_a_run_and_says_so(client, admin_user):
    client.force_login(admin_user)
    with_second_factor(client, admin_user)
    with mock.patch.object(tasks.sync_zendesk, "delay") as queued:
        response = client.post("/manage/integrations/", follow=True)

    assert queued.call_count == 1
    assert "Zendesk sync queued" in response.content.decode()


def test_specialists_cannot_start_a_sync(client, specialist):
    client.force_login(specialist)
    with mock.patch.object(tasks.sync_zendesk, "delay") as queued:
        assert client.post("/manage/integrations/").status_code == 403
    assert queued.call_count == 0


def test_the_page_speaks_to_an_admin_of_zendesk_and_stripe(client, admin_user):
    """It shows Stripe's webhooks as well as Zendesk's tickets, in an admin's words: no
    scheduler or queue of the console's own is named."""
    client.force_login(admin_user)
    with_second_factor(client, admin_user)

    page = client.get("/manage/integrations/").content.decode()

    assert "<h1>Integrations: Zendesk and Stripe</h1>" in page
    assert "Changes from Zendesk and Stripe not taken in" in page
    assert not re.search(r"\b(Beat|beat|Celery|worker)\b", page)

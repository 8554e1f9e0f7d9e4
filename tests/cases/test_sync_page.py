"""`/manage/integrations/`: admins see the sync's health and can start a run."""

import re
from datetime import timedelta
from unittest import mock

from django.utils import timezone

from cases import tasks
from cases.models import SyncState
from tests.conftest import with_second_factor


def _page(client, admin_user):
    client.force_login(admin_user)
    with_second_factor(client, admin_user)
    return client.get("/manage/integrations/").content.decode()


def test_admins_see_the_last_run_the_last_sync_and_the_last_error(client, admin_user):
    now = timezone.now()
    SyncState.objects.filter(pk=1).update(
        last_run_at=now, last_success_at=now - timedelta(minutes=3),
        newest_ticket_updated_at=now - timedelta(minutes=4),
        last_error="ZendeskTransientError: <b>rate limit</b>", last_error_at=now)

    page = _page(client, admin_user)

    assert "The last run failed" in page
    assert "&lt;b&gt;rate limit&lt;/b&gt;" in page  # Zendesk's words, escaped
    assert "Newest ticket change taken in" in page and "(4\xa0minutes ago)" in page
    assert "Late: the sync runs every 1 min" in page
    # One line says when it last synced: the last run's time is the failure's, above.
    assert re.findall(r"<dt>([^<]*)</dt>", page)[:2] == ["Last synced",
                                                        "Newest ticket change taken in"]


def test_a_quiet_zendesk_reads_as_synced_not_as_a_lag(client, admin_user):
    """Nobody changed a ticket for 19 minutes, and the sync ran a minute ago: the page
    says when it last synced, with no warning, and no error as "No errors"."""
    now = timezone.now()
    SyncState.objects.filter(pk=1).update(
        last_run_at=now - timedelta(seconds=30), last_success_at=now - timedelta(seconds=70),
        newest_ticket_updated_at=now - timedelta(minutes=19), last_error="",
        last_error_at=None)

    page = _page(client, admin_user)
    synced = page.split('id="last-synced">')[1].split("</dd>")[0]

    assert synced.startswith("1\xa0minute ago")
    assert "Late" not in page and "Lag behind" not in page
    assert "<dd>No errors</dd>" in page and "<dd>None</dd>" not in page


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

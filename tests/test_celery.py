"""Celery: money-safe defaults, the beat schedule in code, and a real worker on Redis."""

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from billing_console.celery import app
from billing_console.integrations.models import InboundEvent
from billing_console.integrations.tasks import process_inbound_event


def test_tasks_survive_a_lost_worker_and_take_one_message_at_a_time():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_visibility_timeout_outlasts_any_retry_delay():
    timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert timeout > settings.CELERY_MAX_RETRY_DELAY_SECONDS


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_without_redis_the_broker_is_the_filesystem_under_var():
    if settings.REDIS_URL:
        pytest.skip("REDIS_URL is set, so the broker is Redis")
    assert app.conf.broker_url == "filesystem://"
    folder = app.conf.broker_transport_options["data_folder_in"]
    assert folder.startswith(str(settings.VAR_DIR))


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_a_webhook_event_from_redis():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis: set REDIS_URL to run a real worker")
    event = InboundEvent.objects.create(source="stripe", event_id="evt_worker",
                                        event_type="ping", payload={})
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        process_inbound_event.delay(event.pk)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            event.refresh_from_db()
            if event.status == InboundEvent.Status.PROCESSED:
                break
            time.sleep(0.2)
    assert event.status == InboundEvent.Status.PROCESSED
    assert event.attempts == 1

"""Celery: money-safe defaults, the beat schedule in code, and a real worker on Redis."""

import os
import subprocess
import sys
import time
from pathlib import Path

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
    assert app.conf.broker_url.startswith("filesystem://")
    options = app.conf.broker_transport_options
    for folder in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert options[folder].startswith(str(settings.VAR_DIR)), folder


def test_the_filesystem_broker_connects_without_a_warning(caplog):
    """kombu warns each time it reads the settings of a connection whose URL names no host
    (a producer's connection from the pool, at every task sent)."""
    if settings.REDIS_URL:
        pytest.skip("REDIS_URL is set, so the broker is Redis")
    with app.connection_for_write() as connection:
        connection.clone().release()
    assert [record.getMessage() for record in caplog.records
            if record.name.startswith("kombu")] == []


def test_a_message_is_whole_before_a_worker_can_take_it(tmp_path, monkeypatch):
    """A worker takes any "<…>.celery.msg" file of the folder: one taken while kombu was
    still writing it was empty, and the worker died on it."""
    from kombu import Connection

    from billing_console import broker

    seen_while_writing = []

    def replace(source, target):
        seen_while_writing.extend(os.listdir(tmp_path))
        os.rename(source, target)

    monkeypatch.setattr(broker.os, "replace", replace)
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path),
               "control_folder": str(tmp_path / "control"), "store_processed": False}
    with Connection("filesystem://localhost/", transport="billing_console.broker:Transport",
                    transport_options=options) as connection:
        channel = connection.default_channel
        channel._put("celery", {"body": "a task"})

        messages = [name for name in seen_while_writing if ".celery.msg" in name]
        assert len(messages) == 1 and messages[0].endswith(".celery.msg.partial")
        assert channel._get("celery") == {"body": "a task"}


def test_the_tests_runtime_files_are_apart_from_the_demos():
    """A message a test queues must never reach the demo's worker in var/celery/."""
    demo_var = Path(settings.BASE_DIR) / "var"
    assert Path(settings.VAR_DIR) == demo_var / "test"
    assert Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).is_relative_to(demo_var / "test")


def test_every_broker_folder_is_under_var_dir_whatever_the_broker(tmp_path):
    """kombu writes broadcast messages into ./control unless told where: the settings
    name every folder, so a run of the embedded default writes nothing outside VAR_DIR."""
    code = ("from django.conf import settings as s; "
            "print(*s.CELERY_BROKER_TRANSPORT_OPTIONS.values(), sep='\\n')")
    env = {**os.environ, "VAR_DIR": str(tmp_path), "REDIS_URL": "", "DEBUG": "1",
           "DJANGO_SETTINGS_MODULE": "billing_console.settings"}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], env=env,
                            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)
    folders = [line for line in result.stdout.splitlines() if line.startswith("/")]
    assert len(folders) == 4, result.stdout + result.stderr
    assert all(Path(folder).is_relative_to(tmp_path) for folder in folders)


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

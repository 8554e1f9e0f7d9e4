"""The inbox retries a failed webhook event by itself, with bounded exponential backoff, and
gives up after `MAX_ATTEMPTS`; every run is a claim (`processing`, under a row lock), and a
claim left by a lost worker expires."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from billing_console.celery import app as celery_app
from billing_console.integrations import inbox
from billing_console.integrations.models import InboundEvent

Status = InboundEvent.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def handler(monkeypatch):
    """One handler for stripe `refund.updated`, failing while `handler.failing` is true;
    it records the ids of the events it ran for."""

    class Handler:
        failing = True
        runs = []

        def __call__(self, event):
            self.runs.append(event.event_id)
            if self.failing:
                raise RuntimeError("Stripe was unreachable")

    recorder = Handler()
    recorder.runs = []
    monkeypatch.setattr(inbox, "_handlers", type(inbox._handlers)(list))
    inbox.handles("stripe", "refund.updated")(recorder)
    return recorder


@pytest.fixture
def queued(monkeypatch):
    """What the inbox queues, as (event pk, countdown), instead of queueing it."""
    calls = []
    monkeypatch.setattr(inbox, "_queue",
                        lambda pk, countdown=None: calls.append((pk, countdown)))
    return calls


def stored(event_id="evt_1"):
    event, _ = inbox.accept(source="stripe", event_id=event_id, event_type="refund.updated",
                            payload={})
    return event


def make_due(event):
    InboundEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_failed_event_waits_twice_as_long_after_each_failure_up_to_an_hour():
    minutes = [inbox.retry_wait(attempts) / timedelta(minutes=1) for attempts in range(1, 9)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_failed_event_is_due_after_its_wait_and_not_run_before(handler, queued):
    event = stored()
    before = timezone.now()

    event = inbox.process(event.pk)

    assert (event.status, event.attempts) == (Status.FAILED, 1)
    assert event.last_error == "RuntimeError: Stripe was unreachable"
    assert before + timedelta(minutes=1) <= event.next_attempt_at
    assert event.next_attempt_at <= timezone.now() + timedelta(minutes=1)
    # An early message (a duplicate, the sweeper) finds it not yet due and leaves it.
    assert inbox.process(event.pk).attempts == 1
    assert handler.runs == ["evt_1"]


def test_the_failing_worker_queues_the_retry_only_within_the_brokers_visibility(
        handler, queued):
    event = stored()
    for _ in range(inbox.MAX_ATTEMPTS - 1):
        make_due(event)
        inbox.process(event.pk)

    countdowns = [countdown for _, countdown in queued]
    assert countdowns == [60, 120, 240, 480]  # 16 minutes and more: the sweeper's
    assert max(countdowns) <= settings.CELERY_MAX_RETRY_DELAY_SECONDS
    assert settings.CELERY_MAX_RETRY_DELAY_SECONDS < settings.CELERY_VISIBILITY_TIMEOUT_SECONDS


def test_the_sweeper_queues_failed_events_once_they_are_due(handler, queued):
    due, waiting = stored("evt_due"), stored("evt_waiting")
    inbox.process(due.pk)
    inbox.process(waiting.pk)
    queued.clear()
    make_due(due)

    assert inbox.requeue_due() == 1
    assert queued == [(due.pk, None)]


def test_a_retried_event_that_now_succeeds_is_processed(handler, queued):
    event = stored()
    inbox.process(event.pk)
    handler.failing = False
    make_due(event)

    event = inbox.process(event.pk)

    assert (event.status, event.attempts, event.last_error) == (Status.PROCESSED, 2, "")
    assert event.next_attempt_at is None and event.processed_at is not None
    assert inbox.requeue_due() == 0


def test_after_eight_attempts_an_event_gives_up_and_is_no_longer_retried(handler, queued):
    event = stored()
    for _ in range(inbox.MAX_ATTEMPTS):
        make_due(event)
        event = inbox.process(event.pk)

    assert (event.status, event.attempts) == (Status.GAVE_UP, 8)
    assert event.next_attempt_at is None
    assert event.last_error == "RuntimeError: Stripe was unreachable"
    queued.clear()
    assert inbox.requeue_due(now=timezone.now() + timedelta(days=1)) == 0
    assert inbox.process(event.pk).attempts == 8
    assert len(handler.runs) == 8
    assert [e.pk for e in inbox.gave_up()] == [event.pk] and inbox.gave_up_count() == 1


def test_an_event_being_processed_is_left_to_its_worker(handler, queued):
    event = stored()
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.PROCESSING, claimed_at=timezone.now(), attempts=1)

    assert inbox.process(event.pk).status == Status.PROCESSING
    assert inbox.requeue_due(now=timezone.now() + timedelta(minutes=9)) == 0
    assert handler.runs == []


def test_a_claim_left_by_a_dead_worker_is_claimed_again_after_the_timeout(handler, queued):
    handler.failing = False
    event = stored()
    died_at = timezone.now() - inbox.CLAIM_TIMEOUT - timedelta(seconds=1)
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.PROCESSING, claimed_at=died_at, attempts=1)

    assert inbox.requeue_due() == 1
    assert queued == [(event.pk, None)]
    event = inbox.process(event.pk)

    assert (event.status, event.attempts, event.claimed_at) == (Status.PROCESSED, 2, None)
    assert handler.runs == ["evt_1"]


def test_a_worker_whose_claim_expired_does_not_overwrite_the_next_workers_outcome(
        handler, queued):
    event = stored()
    late = inbox.OUTBOX.claim(event.pk, now=timezone.now() - timedelta(hours=1))
    handler.failing = False
    assert inbox.process(event.pk).status == Status.PROCESSED  # the next worker's claim

    assert inbox.OUTBOX.settle(late, status=Status.FAILED, last_error="late") is False
    event.refresh_from_db()
    assert (event.status, event.last_error) == (Status.PROCESSED, "")


def test_a_worker_lost_on_the_last_attempt_gives_up(handler, queued):
    event = stored()
    InboundEvent.objects.filter(pk=event.pk).update(
        status=Status.PROCESSING, attempts=inbox.MAX_ATTEMPTS,
        claimed_at=timezone.now() - inbox.CLAIM_TIMEOUT - timedelta(seconds=1))

    assert inbox.requeue_due() == 0
    event.refresh_from_db()
    assert (event.status, event.claimed_at) == (Status.GAVE_UP, None)
    assert "worker" in event.last_error and handler.runs == []


def test_replay_runs_an_event_that_gave_up_once_more(handler, queued):
    event = stored()
    InboundEvent.objects.filter(pk=event.pk).update(status=Status.GAVE_UP, attempts=8)
    handler.failing = False

    [replayed] = inbox.replay(source="stripe")

    assert (replayed.status, replayed.attempts) == (Status.PROCESSED, 9)


def test_retry_now_puts_an_event_that_gave_up_back_in_line(
        handler, queued, django_capture_on_commit_callbacks):
    event = stored()
    InboundEvent.objects.filter(pk=event.pk).update(status=Status.GAVE_UP, attempts=8)
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert inbox.retry_now(event.pk).status == Status.PENDING
    assert queued == [(event.pk, None)]
    # A failure gives up again at once: an admin's retry is one more attempt.
    event = inbox.process(event.pk)
    assert (event.status, event.attempts) == (Status.GAVE_UP, 9)


def test_retry_now_refuses_an_event_that_has_not_given_up(handler, queued):
    event = stored()
    assert inbox.retry_now(event.pk) is None
    assert InboundEvent.objects.get(pk=event.pk).status == Status.PENDING


def test_beat_runs_the_inbox_sweep_often_enough_for_its_waits():
    entries = [entry for entry in celery_app.conf.beat_schedule.values()
               if entry["task"] == "billing_console.integrations.tasks."
                                   "requeue_stale_inbound_events"]
    assert len(entries) == 1
    assert entries[0]["schedule"] <= inbox.LONGEST_WAIT.total_seconds() / 4

"""A worker killed by SIGKILL after Stripe answers but before the commit: once the
reconciler has run, there is exactly one Stripe refund and the row is `succeeded`.

The worker is a real one in a process of its own (`killable_worker`), on Redis and the
test database, reaching the Stripe sandbox over HTTP; it dies inside the transaction that
records Stripe's answer. The reconciler then runs here, against the same sandbox.
"""

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from billing_console.celery import app
from money_actions import tasks
from money_actions.models import MoneyAction, State
from money_actions.selectors import stuck_after
from tests.contract.stripe.conftest import API_KEY
from tests.refunds.conftest import post_refund, refund_body, refunds_created, stripe_refunds

# Starting the worker takes a few seconds on a small machine; the refund, a fraction.
WORKER_DEADLINE_SECONDS = 45

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                       reason="needs Redis: set REDIS_URL to run a real worker"),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: the worker is another process, and SQLite's "
                              "test database lives in this one's memory (set DATABASE_URL)"),
]


@pytest.fixture
def worker_queue():
    """A queue of this test's own: no other test's messages reach its worker, and what is
    left on it afterwards (the message the killed worker never acknowledged, the write-back
    the reconciler queues) goes away with it."""
    queue = f"test-worker-killed-{uuid.uuid4().hex[:12]}"
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue  # the router reads it at each send
    yield queue
    app.conf.task_default_queue = default_queue
    _remove_queue(queue)


def _remove_queue(name):
    """The queue, its bindings, and the message the killed worker held unacknowledged."""
    with app.connection_for_write() as broker:
        channel = broker.default_channel
        queue = app.amqp.queues[name].bind(channel)
        queue.declare()  # so that this connection knows the bindings it deletes
        queue.delete()
        _forget_unacknowledged(channel, name)


def _forget_unacknowledged(channel, queue):
    """Redis keeps a message taken but never acknowledged aside, to put it back on its
    queue once the visibility timeout has passed: an hour after this test has gone."""
    client = channel.client
    for tag, held in client.hscan_iter(channel.unacked_key):
        _, _, routing_key = json.loads(held)
        if routing_key == queue:
            client.hdel(channel.unacked_key, tag)
            client.zrem(channel.unacked_index_key, tag)


def _test_database_url():
    """DATABASE_URL with the test database's name, which pytest-django chose."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path=f"/{connection.settings_dict['NAME']}").geturl()


def _run_killable_worker(queue, sandbox, log_path):
    """Run the worker until it dies; its return code."""
    env = {**os.environ, "DATABASE_URL": _test_database_url(),
           "STRIPE_API_BASE": sandbox.url, "STRIPE_API_KEY": API_KEY}
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.money_actions.killable_worker", queue],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            return worker.wait(timeout=WORKER_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            pytest.fail(f"The worker was still alive after {WORKER_DEADLINE_SECONDS} s:\n"
                        f"{log_path.read_text()}")


def test_a_worker_killed_before_the_outcome_commits_leaves_one_refund_once_reconciled(
        charged, sandbox, specialist, worker_queue, tmp_path):
    case, charge_id = charged
    # Within policy: approved at once, and queued for the worker when it commits.
    action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]

    log_path = tmp_path / "worker.log"
    returncode = _run_killable_worker(worker_queue, sandbox, log_path)

    assert returncode == -signal.SIGKILL, log_path.read_text()
    # Stripe made the refund and answered; the console never heard.
    assert MoneyAction.objects.get(pk=action_id).state == State.SUBMITTING
    [refund] = stripe_refunds(sandbox, charge_id)
    assert refund.metadata["console_money_action_id"] == action_id

    later = timezone.now() + stuck_after() + timedelta(minutes=1)
    assert tasks.reconcile_stuck_submissions(now=later) == 1

    action = MoneyAction.objects.get(pk=action_id)
    assert (action.state, action.stripe_object_id) == (State.SUCCEEDED, refund.id)
    assert [found.id for found in stripe_refunds(sandbox, charge_id)] == [refund.id]
    assert len(refunds_created(sandbox)) == 1
    assert AuditEvent.objects.filter(action="refund.succeeded", object_id=action_id,
                                     stripe_object_id=refund.id).count() == 1

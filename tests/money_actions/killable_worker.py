"""A Celery worker that kills itself with SIGKILL at the worst moment of a money action:
Stripe has acted and answered, the outcome is written, and the transaction holding it
has not committed.

    python -m tests.money_actions.killable_worker QUEUE

`test_worker_killed` runs it as a separate process against the test database and Redis.
"""

import os
import signal
import sys

import django
from django.db import transaction

WORKER_ARGUMENTS = ["worker", "--pool=solo", "--loglevel=INFO", "--without-heartbeat",
                    "--without-mingle", "--without-gossip"]


def dying_before_commit(record_outcome):
    """`record_outcome`, run inside a transaction that the process never lives to commit."""

    def record_outcome_then_die(**arguments):
        with transaction.atomic():
            record_outcome(**arguments)
            # Everything is written but uncommitted; PostgreSQL rolls it back when the
            # connection drops with the process.
            os.kill(os.getpid(), signal.SIGKILL)

    return record_outcome_then_die


def main(queue):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")
    django.setup()
    from billing_console.celery import app
    from money_actions import services

    # The submission task looks the service up on the module at each call.
    services.money_action_record_outcome = dying_before_commit(
        services.money_action_record_outcome)
    app.worker_main([*WORKER_ARGUMENTS, f"--queues={queue}", f"--hostname={queue}@%h"])


if __name__ == "__main__":
    main(sys.argv[1])

"""Finance's tasks: a reconciliation run with Stripe, and the nightly one for yesterday."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing_console.integrations.stripe.errors import (
    PermanentStripeError,
    TransientStripeError,
)
from billing_console.locks import is_lock_conflict
from finance.models import Match, ReconciliationRun
from finance.periods import Period
from finance.reconciliation import (
    RunAlreadyGoing,
    reconciliation_fail,
    reconciliation_job,
    reconciliation_note_retry,
    reconciliation_request,
    runs_waiting_since,
)

logger = logging.getLogger(__name__)

# Stripe not answering is retried this many times, waiting 30 s, 60 s, ... (at most the
# broker's longest safe delay) before the run is marked failed.
MAX_STRIPE_RETRIES = 5
FIRST_RETRY_SECONDS = 30
# A run still queued after this long lost its task's message; the nightly task queues it.
LOST_AFTER = timedelta(minutes=10)
# The nightly run of a day is asked for once, however often its task is delivered.
NIGHTLY_WINDOW = timedelta(hours=12)


def retry_delay(retries):
    """Exponential backoff, never longer than the broker's redelivery allows."""
    return min(FIRST_RETRY_SECONDS * 2 ** retries, settings.CELERY_MAX_RETRY_DELAY_SECONDS)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=MAX_STRIPE_RETRIES)
def run_reconciliation(self, run_id):
    """Run reconciliation run `run_id` (an id) from its first day not done to its end.

    Safe to deliver again: a worker lost part way leaves the days it stored, and the next
    delivery (acks late, rejected on a lost worker) resumes after them; a second delivery
    running at the same time stops at the first day the other has stored. Stripe not
    answering is retried with backoff and said on the report while it waits; after
    MAX_STRIPE_RETRIES, or when Stripe refuses the read, the run is marked failed with
    what to do. A lock conflict is retried by the task class. Returns
    {"run", "status"}."""
    try:
        run = reconciliation_job(run_id)
    except TransientStripeError as error:
        if self.request.retries >= self.max_retries:
            _fail(run_id, f"Stripe did not answer after {self.request.retries + 1} tries "
                          f"({error.message}). The days stored so far are kept. Start "
                          "the reconciliation again in a few minutes.")
            return {"run": run_id, "status": ReconciliationRun.Status.FAILED}
        delay = retry_delay(self.request.retries)
        reconciliation_note_retry(run_id=run_id, message=(
            f"Stripe did not answer ({error.message}); trying again in {delay} seconds."))
        raise self.retry(countdown=delay, exc=error) from error
    except PermanentStripeError as error:
        _fail(run_id, f"Stripe refused to list what the reconciliation reads "
                      f"({error.message}). Check the console's Stripe key and its access "
                      "with the admins, then start the reconciliation again.")
        return {"run": run_id, "status": ReconciliationRun.Status.FAILED}
    except Exception as error:
        if is_lock_conflict(error):
            raise  # retried by the task class; the run is not failed
        _fail(run_id, f"An error stopped the reconciliation ({type(error).__name__}). The "
                      "days stored so far are kept. Start it again; if it stops again, "
                      "tell the console's admins.")
        raise
    if run is None:
        return {"run": run_id, "status": "left"}
    return {"run": run.pk, "status": run.status,
            **{match.value: run.count_of(match) for match in Match}}


def _fail(run_id, message):
    logger.warning("Reconciliation run %s failed: %s", run_id, message)
    reconciliation_fail(run_id=run_id, message=message)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reconcile_yesterday():
    """Daily: ask for a run of yesterday (UTC), as the system, and queue it; differences
    wait for finance on the approvals page once it is done. Delivered again, it asks only
    once, and a run of yesterday already going (finance asked for it) stands for it. Also
    queues again the runs whose task's message was lost (still queued after
    LOST_AFTER): the run row is the outbox. Returns {"run", "requeued"}."""
    period = Period.yesterday()
    run = ReconciliationRun.objects.filter(
        period_start=period.since, period_end=period.until, started_by=None,
        created_at__gte=timezone.now() - NIGHTLY_WINDOW,
        status__in=[ReconciliationRun.Status.QUEUED, ReconciliationRun.Status.RUNNING,
                    ReconciliationRun.Status.DONE]).first()
    if run is None:
        try:
            run = reconciliation_request(period=period)
        except RunAlreadyGoing as going:
            run = going.run  # finance asked for yesterday already: that run will do
    requeued = [pk for pk in runs_waiting_since(timezone.now() - LOST_AFTER)
                if pk != run.pk]
    for pk in requeued:
        run_reconciliation.delay(pk)
    logger.info("Reconciliation of %s with Stripe queued (run %s); queued again: %s",
                period.since, run.pk, requeued)
    return {"run": run.pk, "requeued": requeued}

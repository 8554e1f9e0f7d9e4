"""Finance's tasks: the daily reconciliation with Stripe."""

import logging

from celery import shared_task

from billing_console.integrations.stripe.errors import TransientStripeError
from finance.models import Match
from finance.periods import Period
from finance.reconciliation import reconciliation_run

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(TransientStripeError,), retry_backoff=60, retry_backoff_max=600,
             max_retries=5)
def reconcile_yesterday():
    """Daily: compare yesterday (UTC) with Stripe. Differences wait for finance on the
    approvals page. A Stripe outage is retried with backoff, never beyond the broker's
    redelivery limit."""
    run = reconciliation_run(period=Period.yesterday())
    counts = {match.value: run.count_of(match) for match in Match}
    logger.info("Reconciled %s with Stripe (run %s): %s", run.period_start, run.pk, counts)
    return {"run": run.pk, **counts}

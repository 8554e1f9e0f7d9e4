"""Audit tasks: the nightly chain check, CSV exports too large to stream, and the daily
reconciliation with Stripe."""

import logging

from celery import shared_task

from audit.exports import write_export
from audit.models import Match
from audit.reconciliation import Period, reconciliation_run
from audit.services import audit_chain_verify
from billing_console.integrations.stripe.errors import TransientStripeError

logger = logging.getLogger(__name__)


@shared_task
def verify_audit_chain_task():
    """Nightly: check the whole chain, keep the result for finance, and say loudly where
    it breaks."""
    verification = audit_chain_verify()
    if verification.intact:
        logger.info("Audit chain intact: %s events verified", verification.checked)
    else:
        logger.error("Audit chain broken at event #%s: %s", verification.broken_id,
                     verification.problem)
    return {"intact": verification.intact, "checked": verification.checked,
            "broken_id": verification.broken_id}


@shared_task(acks_late=True)
def write_audit_export(export_id):
    write_export(export_id)


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

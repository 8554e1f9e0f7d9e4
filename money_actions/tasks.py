"""Celery tasks that move money actions through Stripe, exactly once.

`submit_money_action` runs with acks_late and reject_on_worker_lost (the settings'
defaults, repeated here because money depends on them): a worker lost mid-task leaves the
message to run again, and the row's idempotency key makes the second run harmless. The
reconciler settles rows a lost task left in `submitting`; the sweeper re-queues approved
rows whose queue message was lost (`on_commit` is not an outbox: the row is).
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing_console.integrations.stripe.errors import (
    PermanentStripeError,
    StripeGatewayError,
    TransientStripeError,
)
from money_actions import services
from money_actions.executors import Outcome
from money_actions.models import LedgerEntry, MoneyAction, State

logger = logging.getLogger(__name__)

MAX_SUBMIT_RETRIES = 8
# The reconciler sends again what Stripe never saw only while Stripe still knows the
# idempotency key (about 24 hours); after that a resend could act twice, so the action
# waits for finance instead.
RESUBMIT_WINDOW = timedelta(hours=20)
STUCK_AFTER = timedelta(minutes=10)
LOST_AFTER = timedelta(minutes=2)


def retry_delay(retries):
    """Exponential backoff, never longer than the broker's redelivery allows."""
    return min(2 ** retries, settings.CELERY_MAX_RETRY_DELAY_SECONDS)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=MAX_SUBMIT_RETRIES)
def submit_money_action(self, action_id):
    action = services.money_action_begin_submission(action_id=action_id)
    if action is None:
        return
    try:
        outcome = _send(action)
    except TransientStripeError as error:
        if self.request.retries >= self.max_retries:
            logger.warning("Giving %s to the reconciler after %s tries", action, error)
            return
        raise self.retry(countdown=retry_delay(self.request.retries), exc=error) from error
    except PermanentStripeError as error:
        outcome = Outcome(State.FAILED, stripe_request_id=error.request_id or "",
                          failure_reason=error.message)
    if outcome is not None:
        services.money_action_record_outcome(action_id=action_id, outcome=outcome)


def _send(action):
    """The action's outcome in Stripe, or None when it went back to a person. On the first
    attempt the target is read again, and what no longer holds is recomputed or sent
    back. A later attempt may follow one that reached Stripe: what Stripe made is then
    the outcome, and otherwise the same parameters go again with the same key (other
    parameters would be refused, or act twice)."""
    executor = action.kind_def.executor
    if action.submit_attempts > 1:
        return executor.find(action) or executor.submit(action)
    refreshed = executor.refresh(action)
    if refreshed.send_back:
        services.money_action_send_back(action_id=action.pk, reason=refreshed.send_back)
        return None
    if refreshed.params is not None and refreshed.params != action.params:
        action = services.money_action_refresh_params(
            action_id=action.pk, params=refreshed.params,
            why="worked out again for the target as Stripe has it now")
    return executor.submit(action)


def reconcile_stuck_submissions(*, now=None):
    """Settle rows `submitting` for too long from what Stripe has. One Stripe never saw
    is submitted again, with the same key and parameters, within `RESUBMIT_WINDOW`; then
    it waits for finance. A row Stripe cannot be asked about now is left for next time."""
    now = now or timezone.now()
    stuck = MoneyAction.objects.filter(state=State.SUBMITTING,
                                       submitted_at__lt=now - STUCK_AFTER, finance_flag="")
    for action in stuck:
        try:
            _reconcile(action, now)
        except StripeGatewayError as error:
            logger.warning("Could not reconcile %s this time: %s", action, error)
    return len(stuck)


def _reconcile(action, now):
    outcome = action.kind_def.executor.find(action)
    if outcome is not None:
        services.money_action_record_outcome(action_id=action.pk, outcome=outcome,
                                             learnt_from=LedgerEntry.Learnt.RECONCILER)
    elif action.submitted_at < now - RESUBMIT_WINDOW:
        services.money_action_flag_for_finance(
            action_id=action.pk,
            reason=f"{services.label_of(action)} never reached Stripe in "
                   f"{action.submit_attempts} attempts over a day; it is no longer sent. "
                   "Marking it handled closes it as failed.")
    else:
        submit_money_action.delay(str(action.pk))


def requeue_lost_submissions(*, now=None):
    cutoff = (now or timezone.now()) - LOST_AFTER
    lost = list(MoneyAction.objects.filter(state=State.APPROVED, updated_at__lt=cutoff)
                .values_list("pk", flat=True))
    for action_id in lost:
        submit_money_action.delay(str(action_id))
    return len(lost)


@shared_task
def reconcile_money_actions():
    return reconcile_stuck_submissions()


@shared_task
def sweep_approved_money_actions():
    return requeue_lost_submissions()

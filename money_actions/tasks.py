"""Celery tasks that move money actions through Stripe, exactly once.

`submit_money_action` runs with acks_late and reject_on_worker_lost (the settings'
defaults, repeated here because money depends on them): a worker lost mid-task leaves the
message to run again, and the row's idempotency key makes the second run harmless. The
reconciler, every minute, warns once of each action stuck on its way to Stripe
(`selectors.stuck_on_the_way`) and settles rows a lost task left in `submitting`; the
sweeper re-queues approved rows whose queue message was lost (`on_commit` is not an
outbox: the row is).
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from billing_console.integrations.stripe.errors import (
    PermanentStripeError,
    StripeGatewayError,
    TransientStripeError,
)
from billing_console.names import in_sentence, ticket_name
from money_actions import services
from money_actions.executors import Outcome
from money_actions.models import LedgerEntry, MoneyAction, State
from money_actions.selectors import stuck_after, stuck_on_the_way

logger = logging.getLogger(__name__)

MAX_SUBMIT_RETRIES = 8
# The reconciler sends again what Stripe never saw only while Stripe still knows the
# idempotency key (about 24 hours); after that a resend could act twice, so the action
# waits for finance instead.
RESUBMIT_WINDOW = timedelta(hours=20)
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


def warn_of_stuck_actions(*, now=None):
    """One WARNING line for each action stuck on its way to Stripe, the first time it is
    seen stuck after it set off (not at every beat); how many it warned of. The row keeps
    when (`stuck_warned_at`, written without touching `updated_at`, which dates an
    approved row), and only the process that changes it warns."""
    now = now or timezone.now()
    unwarned = stuck_on_the_way(now=now).filter(
        Q(stuck_warned_at__isnull=True) | Q(stuck_warned_at__lt=F("stuck_since")))
    warned = 0
    for action in unwarned:
        if not MoneyAction.objects.filter(pk=action.pk, stuck_warned_at=action.stuck_warned_at
                                          ).update(stuck_warned_at=now):
            continue  # another run warned of it
        warned += 1
        minutes = int((now - action.stuck_since).total_seconds() // 60)
        logger.warning("%s on %s stuck on its way to Stripe for %s minutes: %s since %s "
                       "UTC (money action %s)", action.name,
                       ticket_name(action.case.zendesk_ticket_id), minutes,
                       in_sentence(action.get_state_display()),
                       f"{action.stuck_since:%Y-%m-%d %H:%M}", action.pk)
    return warned


def reconcile_stuck_submissions(*, now=None):
    """Settle, from what Stripe has, the actions stuck `submitting` (`stuck_on_the_way`)
    that no worker has touched for `stuck_after()` either (a task retrying Stripe touches
    its row at each try). One Stripe never saw is sent again, with the same key and
    parameters, within `RESUBMIT_WINDOW`; then it waits for finance. A row Stripe cannot be
    asked about now is left for next time. Returns how many it looked at."""
    now = now or timezone.now()
    idle_since = now - stuck_after()
    lost = list(stuck_on_the_way(now=now).filter(state=State.SUBMITTING, finance_flag="",
                                                 updated_at__lt=idle_since))
    for action in lost:
        try:
            _reconcile(action, now, idle_since)
        except StripeGatewayError as error:
            logger.warning("Could not reconcile %s this time: %s", action, error)
    return len(lost)


def _reconcile(action, now, idle_since):
    outcome = action.kind_def.executor.find(action)
    if outcome is not None:
        services.money_action_record_outcome(action_id=action.pk, outcome=outcome,
                                             learnt_from=LedgerEntry.Learnt.RECONCILER)
    elif action.submitted_at < now - RESUBMIT_WINDOW:
        services.money_action_flag_for_finance(
            action_id=action.pk,
            reason=f"{action.name} never reached Stripe in "
                   f"{action.submit_attempts} attempts over a day; it is no longer sent. "
                   "Marking it handled closes it as failed.")
    elif services.money_action_resend(
            action_id=action.pk, idle_since=idle_since,
            reason=f"Not in Stripe {int((now - action.submitted_at).total_seconds() // 60)} "
                   "minutes after it was first sent, and no worker was sending it: sent "
                   "again with the same key, so Stripe acts on it once."):
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
    warn_of_stuck_actions()
    return reconcile_stuck_submissions()


@shared_task
def sweep_approved_money_actions():
    return requeue_lost_submissions()

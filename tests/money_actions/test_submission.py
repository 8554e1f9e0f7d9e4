"""Exactly-once submission: retries keep the key, the reconciler settles what a lost
worker left behind, the sweeper re-queues what a lost message left behind."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from money_actions import tasks
from money_actions.models import MoneyAction, State
from money_actions.services import money_action_begin_submission
from tests.refunds.conftest import post_refund, refund_body, refunds_created, stripe_refunds

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_backoff(monkeypatch):
    """Eager retries run at once anyway; keep the SDK's own waits short too."""
    monkeypatch.setattr("stripe._http_client.HTTPClient.INITIAL_DELAY", 0.01)
    monkeypatch.setattr("stripe._http_client.HTTPClient.MAX_DELAY", 0.02)


def keys_sent(sandbox):
    return {entry["headers"].get("Idempotency-Key") for entry in refunds_created(sandbox)}


def test_stripe_500s_are_retried_with_the_same_key_and_give_one_refund(
        charged, sandbox, specialist, eager_tasks, no_backoff):
    case, charge_id = charged
    # More failures than the SDK's own retries: the task has to retry too.
    sandbox.inject("/v1/refunds", 500, count=5)

    action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]

    action = MoneyAction.objects.get(pk=action_id)
    assert action.state == State.SUCCEEDED
    assert len(stripe_refunds(sandbox, charge_id)) == 1
    # A retry first looks for the refund among the charge's (the failures hit that read
    # too), then sends it again: never more than one try each.
    assert 2 <= len(refunds_created(sandbox)) <= 6
    assert keys_sent(sandbox) == {action.idempotency_key}


def test_a_lost_response_is_sent_again_with_the_same_key_and_gives_one_refund(
        charged, sandbox, specialist):
    """Stripe made the refund but the answer never came back (a timeout): the next
    attempt, with the same key and parameters, gets the same refund."""
    case, charge_id = charged
    action = MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id)).json()["id"])
    money_action_begin_submission(action_id=action.pk)
    action.kind_def.executor.submit(action)  # answer lost: no outcome recorded

    tasks.submit_money_action.apply(args=[str(action.pk)])

    action.refresh_from_db()
    assert action.state == State.SUCCEEDED
    assert [refund.id for refund in stripe_refunds(sandbox, charge_id)] == [
        action.stripe_object_id]
    assert keys_sent(sandbox) == {action.idempotency_key}


def test_a_charge_refunded_elsewhere_since_the_request_goes_back_to_a_person(
        charged, sandbox, specialist):
    case, charge_id = charged
    action = MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id)).json()["id"])
    sandbox.client.v1.refunds.create(params={"charge": charge_id})  # refunded elsewhere

    tasks.submit_money_action.apply(args=[str(action.pk)])

    action.refresh_from_db()
    assert action.state == State.PENDING_APPROVAL
    assert len(refunds_created(sandbox)) == 1  # the Dashboard's
    reason = action.policy_verdicts[-1]
    assert reason["rule"] == "stripe_changed" and reason["needs_approval"]
    assert "can now refund only 0.00 USD" in reason["explanation"]


def _stuck(action, minutes=11):
    """Sent `minutes` ago, and no worker has touched it since."""
    then = timezone.now() - timedelta(minutes=minutes)
    MoneyAction.objects.filter(pk=action.pk).update(submitted_at=then, updated_at=then)


def test_the_reconciler_settles_a_stuck_submission_found_by_metadata(
        charged, sandbox, specialist):
    case, charge_id = charged
    action = MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id)).json()["id"])
    money_action_begin_submission(action_id=action.pk)
    refund = action.kind_def.executor.submit(action).stripe_object_id  # worker died here
    _stuck(action)

    assert tasks.reconcile_stuck_submissions() == 1

    action.refresh_from_db()
    assert (action.state, action.stripe_object_id) == (State.SUCCEEDED, refund)
    assert len(refunds_created(sandbox)) == 1


def test_the_reconciler_leaves_recent_submissions_alone(charged, sandbox, specialist):
    case, charge_id = charged
    action = MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id)).json()["id"])
    money_action_begin_submission(action_id=action.pk)
    _stuck(action, minutes=4)

    assert tasks.reconcile_stuck_submissions() == 0


def test_the_reconciler_submits_again_what_stripe_never_saw(
        charged, sandbox, specialist, eager_tasks):
    case, charge_id = charged
    action = MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id, stripe_reason="fraudulent")).json()["id"])
    MoneyAction.objects.filter(pk=action.pk).update(state=State.SUBMITTING,
                                                    approved_amount=action.amount)
    _stuck(action)

    tasks.reconcile_stuck_submissions()

    action.refresh_from_db()
    assert action.state == State.SUCCEEDED
    assert len(refunds_created(sandbox)) == 1


def test_after_a_day_the_reconciler_stops_resending_and_finance_closes_it(
        charged, sandbox, specialist, finance):
    from money_actions.services import money_action_clear_flag

    case, charge_id = charged
    action = MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id, stripe_reason="fraudulent")).json()["id"])
    MoneyAction.objects.filter(pk=action.pk).update(
        state=State.SUBMITTING, approved_amount=action.amount, submit_attempts=12)
    _stuck(action, minutes=int(tasks.RESUBMIT_WINDOW.total_seconds() // 60) + 1)

    tasks.reconcile_stuck_submissions()
    tasks.reconcile_stuck_submissions()

    action.refresh_from_db()
    assert action.state == State.SUBMITTING
    assert "never reached Stripe in 12 attempts over a day" in action.finance_flag
    assert not refunds_created(sandbox)
    assert AuditEvent.objects.filter(object_id=action.pk, action="refund.flagged").count() == 1

    money_action_clear_flag(action_id=action.pk, actor=finance, note="Customer paid by hand.")

    action.refresh_from_db()
    assert action.state == State.FAILED and "closed by finance" in action.failure_reason


def test_one_row_stripe_cannot_answer_for_does_not_stop_the_others(
        charged, sandbox, specialist, monkeypatch):
    from billing_console.integrations.stripe.errors import PermanentStripeError
    from refunds.kinds import RefundExecutor

    case, charge_id = charged
    ids = [post_refund(specialist, refund_body(case, charge_id, amount=1_000)).json()["id"]
           for _ in range(2)]
    MoneyAction.objects.filter(pk__in=ids).update(state=State.SUBMITTING)
    for action in MoneyAction.objects.filter(pk__in=ids):
        _stuck(action)
    calls = []

    def find(self, action):
        calls.append(action.pk)
        raise PermanentStripeError("No such charge")

    monkeypatch.setattr(RefundExecutor, "find", find)
    assert tasks.reconcile_stuck_submissions() == 2
    assert len(calls) == 2


def test_the_sweeper_requeues_approved_refunds_whose_message_was_lost(
        charged, sandbox, specialist):
    case, charge_id = charged
    action = MoneyAction.objects.get(pk=post_refund(
        specialist, refund_body(case, charge_id)).json()["id"])
    assert action.state == State.APPROVED  # tasks not eager: the message went nowhere
    MoneyAction.objects.filter(pk=action.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5))

    from billing_console.celery import app

    app.conf.task_always_eager = True
    try:
        assert tasks.requeue_lost_submissions() == 1
    finally:
        app.conf.task_always_eager = False

    action.refresh_from_db()
    assert action.state == State.SUCCEEDED


def test_a_settled_refund_is_never_submitted_again(charged, sandbox, specialist, eager_tasks):
    case, charge_id = charged
    action_id = post_refund(specialist, refund_body(case, charge_id)).json()["id"]

    tasks.submit_money_action.apply(args=[action_id])

    assert len(refunds_created(sandbox)) == 1


@pytest.mark.parametrize("retries, delay", [(0, 1), (3, 8), (9, 512), (10, 600), (40, 600)])
def test_retry_backoff_is_exponential_and_bounded(retries, delay):
    assert tasks.retry_delay(retries) == delay

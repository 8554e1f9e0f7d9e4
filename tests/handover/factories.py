"""Helpers for the handover's tests: cases linked to a customer, and money actions whose
approvals, rejections and failures the real services record."""

from cases.models import StripeLink
from money_actions.executors import Outcome
from money_actions.models import MoneyAction, State
from money_actions.services import (
    money_action_approve,
    money_action_record_outcome,
    money_action_reject,
)
from tests.cases.factories import make_case

CUSTOMER = "cus_Handover"


def linked_case(**fields):
    return make_case(stripe_customer_id=CUSTOMER, stripe_link=StripeLink.VERIFIED, **fields)


def refund(case, requester, *, state, amount=2_500):
    return MoneyAction.objects.create(
        kind="refund", state=state, case=case, stripe_customer_id=CUSTOMER,
        stripe_target_id="ch_Handover", amount=amount, currency="usd",
        reason_code="duplicate", note="Charged twice in March.", requested_by=requester)


def failed_refund(case, requester, *, amount=2_500, why="The customer's card was closed."):
    """A refund Stripe failed, recorded by the service that records Stripe's answers."""
    action = refund(case, requester, state=State.SUBMITTING, amount=amount)
    return money_action_record_outcome(
        action_id=action.pk, outcome=Outcome(state=State.FAILED, failure_reason=why))


def approved_refund(case, requester, approver, *, amount=60_000):
    action = refund(case, requester, state=State.PENDING_APPROVAL, amount=amount)
    return money_action_approve(action_id=action.pk, actor=approver, note="Checked.")


def rejected_refund(case, requester, approver, *, amount=70_000):
    action = refund(case, requester, state=State.PENDING_APPROVAL, amount=amount)
    return money_action_reject(action_id=action.pk, actor=approver, note="Not under policy.")

"""Reads of money actions for the pages."""

from money_actions.models import MoneyAction, State

APPROVALS_SHOWN = 200


def awaiting_approval():
    """Actions waiting for a second person, oldest first: the longest wait is on top."""
    return (MoneyAction.objects.filter(state=State.PENDING_APPROVAL)
            .select_related("case", "requested_by").order_by("created_at"))


def approval_rows(*, limit=APPROVALS_SHOWN):
    """(action, the rules that sent it to approval), for the approvals page."""
    return [(action, [verdict for verdict in action.policy_verdicts
                      if verdict["needs_approval"]])
            for action in awaiting_approval()[:limit]]


def flagged_for_finance():
    """Actions finance must look at and has not yet, oldest first."""
    return (MoneyAction.objects.exclude(finance_flag="")
            .filter(finance_flag_cleared_at__isnull=True)
            .select_related("case").order_by("updated_at"))

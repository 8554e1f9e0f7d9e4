"""The approvals page: finance (or an admin) approves or rejects money actions that policy
sent to a second person, and handles those flagged to them (money that moved back).
The services refuse a decision on one's own request."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from audit.reconciliation import reconciliation_flags
from audit.services import Origin
from billing_console.access import Capability, requires
from billing_console.exceptions import ApplicationError
from money_actions import services
from money_actions.forms import DecisionForm
from money_actions.models import MoneyAction
from money_actions.selectors import (
    APPROVALS_SHOWN,
    HISTORY_DAYS,
    approval_rows,
    awaiting_approval,
    flagged_for_finance,
)


@requires(Capability.APPROVE_MONEY_ACTION)
@require_safe
def approvals(request):
    return render(request, "money_actions/approvals.html", {
        "rows": approval_rows(), "waiting": awaiting_approval().count(),
        "shown_at_most": APPROVALS_SHOWN, "flagged": flagged_for_finance(),
        "history_days": HISTORY_DAYS, **reconciliation_flags(request.user)})


@requires(Capability.APPROVE_MONEY_ACTION)
@require_POST
def approve(request, pk):
    def decide(action, note):
        services.money_action_approve(action_id=action.pk, actor=request.user, note=note,
                                      origin=Origin.of(request))
        return "approved; it is on its way to Stripe"

    return _decide(request, pk, decide)


@requires(Capability.APPROVE_MONEY_ACTION)
@require_POST
def reject(request, pk):
    def decide(action, note):
        services.money_action_reject(action_id=action.pk, actor=request.user, note=note,
                                     origin=Origin.of(request))
        return "rejected; the requester sees why on the case"

    return _decide(request, pk, decide)


@requires(Capability.APPROVE_MONEY_ACTION)
@require_POST
def clear_flag(request, pk):
    def decide(action, note):
        services.money_action_clear_flag(action_id=action.pk, actor=request.user, note=note,
                                         origin=Origin.of(request))
        return "is marked as handled"

    return _decide(request, pk, decide)


def _decide(request, pk, decide):
    action = get_object_or_404(MoneyAction, pk=pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        done = decide(action, note)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{services.label_of(action)} on case {action.case_id} "
                                  f"{done}.")
    return redirect("money_actions:approvals")

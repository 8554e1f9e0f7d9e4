"""The approvals page: finance (or an admin) approves or rejects money actions that policy
sent to a second person, and handles those flagged to them (money that moved back), beside
the reconciliation's differences waiting for an explanation and the actions stuck on their
way to Stripe. The services refuse a decision on one's own request."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from audit.services import Origin
from billing_console.access import Capability, requires
from billing_console.exceptions import ApplicationError
from billing_console.forms import first_error
from billing_console.names import ticket_name
from finance.forms import DecisionForm
from finance.reconciliation import reconciliation_flags
from money_actions import services
from money_actions.models import MoneyAction
from money_actions.selectors import (
    APPROVALS_SHOWN,
    HISTORY_DAYS,
    approval_rows,
    awaiting_approval,
    flagged_for_finance,
    stuck_actions,
    stuck_after,
    stuck_on_the_way,
)


@requires(Capability.APPROVE_MONEY_ACTION)
@require_safe
def approvals(request):
    stuck = stuck_on_the_way()
    return render(request, "finance/approvals.html", {
        "rows": approval_rows(), "waiting": awaiting_approval().count(),
        "shown_at_most": APPROVALS_SHOWN, "flagged": flagged_for_finance(),
        "stuck": stuck_actions(stuck[:APPROVALS_SHOWN]), "stuck_count": stuck.count(),
        "stuck_minutes": int(stuck_after().total_seconds() // 60),
        "history_days": HISTORY_DAYS, **reconciliation_flags(request.user)})


def _decision(service, done, *, for_amount_shown=False):
    """A POST that applies `service` to one action with the form's note (and, to approve,
    the amount the page showed); a refusal (one's own request, a note missing, an amount
    or a state that moved on) is a message, not a 500."""

    @requires(Capability.APPROVE_MONEY_ACTION)
    @require_POST
    def decide(request, pk):
        action = get_object_or_404(MoneyAction, pk=pk)
        form = DecisionForm(request.POST)
        if not form.is_valid():
            # Nothing is decided on a form that did not hold: deciding with its values
            # dropped would approve without the check that the amount shown has not moved.
            messages.error(request, _form_refusal(form))
            return redirect("finance:approvals")
        data = form.cleaned_data
        shown = {"expected_amount": data["amount"]} if for_amount_shown else {}
        try:
            service(action_id=action.pk, actor=request.user, note=data["note"],
                    origin=Origin.of(request), **shown)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{action.name} on "
                                      f"{ticket_name(action.case.zendesk_ticket_id)} {done}.")
        return redirect("finance:approvals")

    return decide


def _form_refusal(form):
    """The first of the form's errors, named by its field's label, and nothing decided."""
    return f"{first_error(form)} Nothing was decided; correct it and decide again."


approve = _decision(services.money_action_approve, "approved; it is on its way to Stripe",
                    for_amount_shown=True)
reject = _decision(services.money_action_reject,
                   "rejected; the requester sees why on the case")
clear_flag = _decision(services.money_action_clear_flag, "is marked as handled")

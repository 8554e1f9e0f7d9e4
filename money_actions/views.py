"""Pages' actions on one money action that belong to no kind: the requester withdraws a
request from its case's page. Finance's decisions are on the approvals page
(`finance.views.approvals`)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from audit.services import Origin
from billing_console.access import Capability, requires
from billing_console.exceptions import ApplicationError
from money_actions import services
from money_actions.models import MoneyAction


@requires(Capability.REQUEST_MONEY_ACTION)
@require_POST
def withdraw(request, pk):
    """The requester takes back a request from its case's page."""
    action = get_object_or_404(MoneyAction, pk=pk)
    try:
        services.money_action_withdraw(action_id=action.pk, actor=request.user,
                                       origin=Origin.of(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{action.name} withdrawn; nothing was sent "
                                  "to Stripe.")
    return redirect("cases:case", pk=action.case_id)

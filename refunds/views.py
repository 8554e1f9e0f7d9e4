from django.shortcuts import render

from billing_console.access import Capability, requires


@requires(Capability.APPROVE_MONEY_ACTION)
def approvals(request):
    return render(request, "refunds/approvals.html")

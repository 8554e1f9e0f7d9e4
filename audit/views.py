from django.shortcuts import render

from audit.selectors import audit_event_page
from billing_console.access import Capability, requires


def _before_id(request):
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


@requires(Capability.VIEW_CASE_AUDIT)
def events(request):
    page, older = audit_event_page(viewer=request.user, before_id=_before_id(request))
    return render(request, "audit/events.html", {"events": page, "older": older})

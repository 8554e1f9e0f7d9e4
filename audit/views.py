"""The audit trail pages: the filtered, keyset-paged list and one event's detail.

Finance and admins see the whole trail; specialists the events about cases
(`selectors.visible_events`). Bad filters are a message on the page, never a 500.
"""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from audit.filters import AuditFilters
from audit.models import Source
from audit.selectors import audit_event_detail, audit_event_page
from billing_console.access import Capability, Role, has_capability, requires
from billing_console.exceptions import ApplicationError


def _before_id(request):
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


@requires(Capability.VIEW_CASE_AUDIT)
@require_safe
def events(request):
    try:
        filters = AuditFilters.from_query(request.GET)
    except ApplicationError as error:
        return render(request, "audit/events.html", {
            "filters": AuditFilters(), "error": error.message, **_choices()}, status=400)
    page, older = audit_event_page(viewer=request.user, filters=filters,
                                   before_id=_before_id(request))
    return render(request, "audit/events.html", {
        "events": page, "older": older, "filters": filters,
        "can_export": has_capability(request.user, Capability.EXPORT_AUDIT), **_choices()})


def _choices():
    return {"sources": Source.choices, "roles": [(role.value, role.label) for role in Role]}


@requires(Capability.VIEW_CASE_AUDIT)
@require_safe
def event_detail(request, pk):
    event, action = audit_event_detail(viewer=request.user, pk=pk)
    if event is None:
        raise Http404("No such audit event.")
    return render(request, "audit/event.html", {"event": event, "action": action})

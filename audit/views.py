"""The audit trail pages: the filtered, keyset-paged list and one event's detail.

Finance and admins see the whole trail; specialists the events about cases
(`selectors.visible_events`). Bad filters are a message on the page, never a 500. The pages
read events in words (`audit.words`); the CSV export and the API keep the codes.
"""

from dataclasses import fields
from types import SimpleNamespace

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from audit.exports import export_path
from audit.filters import AuditFilters, before_id
from audit.models import AuditExport, Source
from audit.selectors import (
    audit_event_detail,
    audit_event_page,
    exports_of,
    filtered_events,
    latest_verification,
)
from audit.services import audit_export_request
from audit.words import action_choices, event_changes, event_rows, kind_choices
from billing_console.access import Capability, Role, has_capability, requires
from billing_console.exceptions import ApplicationError, PageNotFound
from billing_console.names import console_reasons

# Up to this many rows an export streams straight away; above, a task writes it.
EXPORT_INLINE_ROWS = 20_000


@requires(Capability.VIEW_CASE_AUDIT)
@require_safe
def events(request):
    try:
        filters, before = AuditFilters.from_query(request.GET), before_id(request.GET)
    except ApplicationError as error:
        # The form keeps what was typed, so the one bad value can be put right.
        typed = SimpleNamespace(active=True, **{field.name: request.GET.get(field.name, "")
                                                for field in fields(AuditFilters)})
        return render(request, "audit/events.html", {
            "filters": typed, "error": error.message, **_choices()}, status=400)
    page, older = audit_event_page(viewer=request.user, filters=filters, before_id=before)
    return render(request, "audit/events.html", {
        "rows": event_rows(page), "older": older, "filters": filters,
        "verification": latest_verification(),
        "can_export": has_capability(request.user, Capability.EXPORT_AUDIT), **_choices()})


def _choices():
    return {"sources": Source.choices, "roles": [(role.value, role.label) for role in Role],
            "kinds": kind_choices(), "actions": action_choices(),
            "reasons": sorted(console_reasons().items(), key=lambda item: item[1])}


@requires(Capability.VIEW_CASE_AUDIT)
@require_safe
def event_detail(request, pk):
    event, action = audit_event_detail(viewer=request.user, pk=pk)
    if event is None:
        raise PageNotFound("There is no such audit event, or it is not one your role sees. "
                           "Find it on the audit trail.")
    [row] = event_rows([event])
    return render(request, "audit/event.html", {"event": event, "row": row, "action": action,
                                                "changes": event_changes(event)})


@requires(Capability.EXPORT_AUDIT)
@require_POST
def export(request):
    """Stream a small export at once; hand a large one to a task and show its progress."""
    try:
        filters = AuditFilters.from_query(request.POST)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("audit:events")
    rows = filtered_events(viewer=request.user, filters=filters).count()
    if rows <= EXPORT_INLINE_ROWS:
        return redirect(f"{reverse('api:audit-export')}?{filters.as_query()}")
    return redirect("audit:export", pk=audit_export_request(request, filters).pk)


@requires(Capability.EXPORT_AUDIT)
@require_safe
def export_status(request, pk):
    """The export's progress; htmx polls the bar until the file is ready."""
    export = get_object_or_404(exports_of(request.user), pk=pk)
    template = "audit/_export_progress.html" if request.headers.get("HX-Request") \
        else "audit/export.html"
    return render(request, template, {"export": export})


@requires(Capability.EXPORT_AUDIT)
@require_safe
def export_download(request, pk):
    export = get_object_or_404(exports_of(request.user), pk=pk,
                               status=AuditExport.Status.DONE)
    path = export_path(export)
    if not path.exists():
        messages.error(request, f"The file of export {export.pk} is no longer on the server; "
                                "export the same filters again.")
        return redirect("audit:events")
    return FileResponse(path.open("rb"), as_attachment=True,
                        filename=f"audit-export-{export.pk}.csv", content_type="text/csv")

"""Reading the audit trail."""

from audit.chain import verify_chain
from audit.models import AuditEvent
from billing_console.access import Capability, has_capability

PAGE_SIZE = 50


def verify_audit_chain():
    events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    return verify_chain(events)


def visible_events(viewer):
    """The whole trail for finance and admins; for specialists, the events about cases
    (which they can all see); for anyone else, nothing."""
    if has_capability(viewer, Capability.VIEW_AUDIT):
        return AuditEvent.objects.all()
    if has_capability(viewer, Capability.VIEW_CASE_AUDIT):
        return AuditEvent.objects.filter(case_id__isnull=False)
    return AuditEvent.objects.none()


def audit_event_page(*, viewer, before_id=None, size=PAGE_SIZE):
    """Newest first, keyset-paged on id so that page 10,000 costs what page 1 costs."""
    events = visible_events(viewer).order_by("-id")
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    page = list(events[: size + 1])
    older = page[size - 1].id if len(page) > size else None
    return page[:size], older

"""Reading the audit trail."""

from audit.chain import verify_chain
from audit.models import AuditEvent, AuditExport, ChainVerification
from audit.subjects import subject_of
from billing_console.access import Capability, has_capability

PAGE_SIZE = 50


def verify_audit_chain(*, expected_head=None):
    events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    return verify_chain(events, expected_head=expected_head)


def visible_events(viewer):
    """The whole trail for finance and admins; for specialists, the events about cases
    (which they can all see); for anyone else, nothing."""
    if has_capability(viewer, Capability.VIEW_AUDIT):
        return AuditEvent.objects.all()
    if has_capability(viewer, Capability.VIEW_CASE_AUDIT):
        return AuditEvent.objects.filter(case_id__isnull=False)
    return AuditEvent.objects.none()


def filtered_events(*, viewer, filters=None):
    events = visible_events(viewer)
    return filters.apply(events) if filters is not None else events


def audit_event_detail(*, viewer, pk):
    """One event the viewer may see, with what it is about as its app reads it, if any (a
    money action, for the approval). None when there is no such event, or the viewer may
    not see it."""
    event = visible_events(viewer).filter(pk=pk).first()
    if event is None:
        return None, None
    return event, subject_of(event)


def audit_event_page(*, viewer, filters=None, before_id=None, size=PAGE_SIZE):
    """Newest first, keyset-paged on id so that page 10,000 costs what page 1 costs."""
    events = filtered_events(viewer=viewer, filters=filters).order_by("-id")
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    page = list(events[: size + 1])
    older = page[size - 1].id if len(page) > size else None
    return page[:size], older


def latest_verification():
    return ChainVerification.objects.first()


def exports_of(user):
    return AuditExport.objects.filter(requested_by=user).order_by("-created_at")

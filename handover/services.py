"""Leaving a handover note."""

from django.db import transaction
from django.utils import timezone

from audit.services import Origin, record
from billing_console.exceptions import ApplicationError
from billing_console.notes import check_note_length
from handover.models import HandoverNote


@transaction.atomic
def handover_note_leave(*, author, body, origin=None):
    """Keep `body` (text, at most `NOTE_MAX_CHARS` characters once trimmed, the limit of
    every note, `billing_console.notes`) as `author`'s note for the next shift, with its
    audit event (`handover.note_left`, the text in `after`) in the same transaction.
    Returns the `HandoverNote`."""
    body = (body or "").strip()
    if not body:
        raise ApplicationError("Write the note before leaving it.", "note_required")
    check_note_length(body, what="A handover note")
    note = HandoverNote.objects.create(author=author, body=body, created_at=timezone.now())
    origin = origin or Origin()
    record(action="handover.note_left", actor=author, ip=origin.ip, source=origin.source,
           object_type="handover_note", object_id=note.pk, after={"note": body})
    return note

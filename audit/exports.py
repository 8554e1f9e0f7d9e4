"""CSV exports of the audit trail, in constant memory.

Rows are written as they are read (`iterator`), never gathered, through `audit.csv`, which
neutralises every cell a spreadsheet could take for a formula: Zendesk content reaches the
trail, and it is untrusted.
"""

import itertools
import logging

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone

from audit import csv
from audit.models import AuditExport
from billing_console.money import format_amount

COLUMNS = ["id", "created_at", "actor", "role", "ip_address", "source", "action",
           "object_type", "object_id", "amount_minor", "amount", "currency", "case_id",
           "zendesk_ticket_id", "stripe_object_id", "stripe_request_id", "reason", "outcome",
           "hash"]
CHUNK = 2_000
# The last line of a streamed export that an error cut short.
INCOMPLETE_LINE = "# INCOMPLETE: an error stopped this export here; export it again.\r\n"

logger = logging.getLogger(__name__)


def csv_lines(events):
    """The header, then one CSV line per event, as they are read."""
    rows = events.order_by("id").iterator(chunk_size=CHUNK)
    try:
        yield from csv.csv_lines(COLUMNS, (_row(event) for event in rows))
    finally:
        # Its database cursor closes now, in this transaction, whether the export ended,
        # failed or was cut off, not whenever the garbage collector gets to it.
        rows.close()


def started(lines):
    """An export's lines for a streamed response, started before the response is: the
    header and the first row are read now, so a query that fails is an error answer, not a
    file of only its header. A failure once the response has begun ends the file with
    `INCOMPLETE_LINE` and is raised again, which breaks the transfer: an export never ends
    early looking whole."""
    lines = iter(lines)
    return _then(list(itertools.islice(lines, 2)), lines)


def _then(first, rest):
    yield from first
    try:
        yield from rest
    except Exception:
        logger.exception("A streamed audit export stopped early")
        yield INCOMPLETE_LINE
        raise


def _row(event):
    shown = format_amount(event.amount, event.currency) \
        if event.amount is not None and event.currency else ""
    return [event.id, event.created_at.isoformat(), event.actor_username, event.actor_role,
            event.ip_address, event.source, event.action, event.object_type, event.object_id,
            event.amount, shown, event.currency, event.case_id, event.zendesk_ticket_id,
            event.stripe_object_id, event.stripe_request_id, event.reason, event.outcome,
            event.hash]


def export_path(export):
    return settings.VAR_DIR / "exports" / f"audit-{export.pk}.csv"


def write_export(export_id):
    """Write a background export to its file, keeping its progress on the row."""
    from audit.filters import AuditFilters
    from audit.selectors import filtered_events

    export = AuditExport.objects.select_related("requested_by").get(pk=export_id)
    if export.status == AuditExport.Status.DONE:
        return
    events = filtered_events(viewer=export.requested_by,
                             filters=AuditFilters.from_query(QueryDict(export.query)))
    _progress(export, status=AuditExport.Status.RUNNING, total=events.count(), written=0)
    path = export_path(export)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("w", encoding="utf-8", newline="") as file:
            for written, line in enumerate(csv_lines(events)):
                file.write(line)
                if written and written % CHUNK == 0:
                    _progress(export, written=written)
    except Exception as error:
        _progress(export, status=AuditExport.Status.FAILED, error=str(error))
        raise
    _progress(export, status=AuditExport.Status.DONE, written=export.total,
              finished_at=timezone.now())


def _progress(export, **fields):
    for name, value in fields.items():
        setattr(export, name, value)
    export.save(update_fields=list(fields))
